"""programs choose how strictly install serials are checked

Revision ID: 0028_program_serial_check
Revises: 0027_partner_contracts
Create Date: 2026-12-04 05:52:17.915490
"""

import sqlalchemy as sa
from alembic import op


revision = "0028_program_serial_check"
down_revision = "0027_partner_contracts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("serial_check", sa.String(length=8), server_default="review", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_programs_serial_check"), "serial_check IN ('refuse', 'review', 'off')"
        )



def downgrade() -> None:
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_programs_serial_check"), type_="check")
        batch_op.drop_column("serial_check")

