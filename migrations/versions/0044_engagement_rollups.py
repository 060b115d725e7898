"""engagement rollups: closed months' enrolled and active people by program, partner and role,
and people's earnings by program and partner

Filled by `flask rollups refresh` (the dashboards count a month live until it is stored).

Revision ID: 0044_engagement_rollups
Revises: 0037_gift_card_orders
Create Date: 2026-12-04 14:40:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0044_engagement_rollups"
down_revision = "0043_tier_benefits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engagement_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("enrolled", sa.Integer(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_months")),
        sa.UniqueConstraint(
            "month",
            "program_id",
            "partner_id",
            "role",
            name=op.f("uq_engagement_months_month_program_id_partner_id_role"),
        ),
    )
    op.create_table(
        "earning_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_earning_months")),
        sa.UniqueConstraint(
            "month",
            "person_id",
            "program_id",
            "partner_id",
            name=op.f("uq_earning_months_month_person_id_program_id_partner_id"),
        ),
    )
    op.create_index(
        "ix_earning_months_partner_month", "earning_months", ["partner_id", "month"], unique=False
    )
    op.create_table(
        "month_refreshes",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("refreshed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_month_refreshes")),
    )


def downgrade() -> None:
    op.drop_table("month_refreshes")
    op.drop_table("earning_months")
    op.drop_table("engagement_months")
