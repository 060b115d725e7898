"""partner contracts: the day a partner's contract started

Revision ID: 0027_partner_contracts
Revises: 0026_rebate_statements
Create Date: 2026-12-04 06:13:59.943848
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_partner_contracts"
down_revision = "0026_rebate_statements"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partner_organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contract_started_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("partner_organizations", schema=None) as batch_op:
        batch_op.drop_column("contract_started_on")
