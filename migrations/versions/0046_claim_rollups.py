"""claim rollups: claims counted by month created, partner, status and fraud flag

Kept by `channel.claim_rollups` with every claim from now on; filled here from the claims.

Revision ID: 0046_claim_rollups
Revises: 0044_engagement_rollups
Create Date: 2026-12-04 15:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0046_claim_rollups"
down_revision = "0044_engagement_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("flag", sa.String(length=64), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_months")),
        sa.UniqueConstraint(
            "month",
            "partner_id",
            "status",
            "flag",
            name=op.f("uq_claim_months_month_partner_id_status_flag"),
        ),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        month = "to_char(timezone('UTC', c.created_at), 'YYYY-MM')"
        names = "json_array_elements_text(c.flags) AS f(value)"
    else:
        month = "substr(c.created_at, 1, 7)"
        names = "json_each(c.flags) AS f"
    columns = "month, partner_id, status, flag, claims"
    op.execute(
        f"INSERT INTO claim_months ({columns}) "
        f"SELECT {month}, c.partner_id, c.status, '', count(*) FROM claims c "
        f"GROUP BY {month}, c.partner_id, c.status"
    )
    op.execute(
        f"INSERT INTO claim_months ({columns}) "
        f"SELECT {month}, c.partner_id, c.status, f.value, count(*) FROM claims c, {names} "
        f"GROUP BY {month}, c.partner_id, c.status, f.value"
    )

def downgrade() -> None:
    op.drop_table("claim_months")
