"""exchange rates: units of a currency for one euro, per day

Revision ID: 0024_exchange_rates
Revises: 0023_sign_in_quotas
Create Date: 2026-12-04 06:00:00
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "0024_exchange_rates"
down_revision = "0023_sign_in_quotas"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_rates",
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("per_eur", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("per_eur > 0", name=op.f("ck_exchange_rates_positive")),
        sa.PrimaryKeyConstraint("currency", "day", name=op.f("pk_exchange_rates")),
    )


def downgrade() -> None:
    op.drop_table("exchange_rates")
