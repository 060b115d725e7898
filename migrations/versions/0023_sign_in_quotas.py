"""sign-in quotas: codes asked per phone number, known or not

Revision ID: 0023_sign_in_quotas
Revises: 0022_sessions
Create Date: 2026-12-03 23:50:00
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "0023_sign_in_quotas"
down_revision = "0022_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_quotas",
        sa.Column("number_digest", sa.String(length=64), nullable=False),
        sa.Column("window_started_at", UTCDateTime(), nullable=False),
        sa.Column("codes", sa.Integer(), nullable=False),
        sa.CheckConstraint("codes >= 0", name=op.f("ck_sign_in_quotas_codes_non_negative")),
        sa.PrimaryKeyConstraint("number_digest", name=op.f("pk_sign_in_quotas")),
    )


def downgrade() -> None:
    op.drop_table("sign_in_quotas")
