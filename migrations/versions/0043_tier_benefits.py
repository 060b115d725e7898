"""tier benefits; articles and programs for a tier and those above it, with early access

Revision ID: 0043_tier_benefits
Revises: 0037_gift_card_orders
Create Date: 2026-12-04 14:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

import core.db


revision = "0043_tier_benefits"
down_revision = "0042_payouts_shipments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tier_benefits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tier_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("contact_name", sa.String(length=120), nullable=True),
        sa.Column("contact", sa.String(length=120), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('account_manager', 'priority_support', 'early_access', 'tier_articles', "
            "'event_invitation')",
            name=op.f("ck_tier_benefits_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"],
            ["tiers.id"],
            name=op.f("fk_tier_benefits_tier_id_tiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_benefits")),
    )
    with op.batch_alter_table("tier_benefits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tier_benefits_tier_id"), ["tier_id"], unique=False)

    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tier_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("tier_only_until", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_articles_tier_id"), ["tier_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_articles_tier_id_tiers"), "tiers", ["tier_id"], ["id"], ondelete="RESTRICT"
        )

    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_tier_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("tier_only_until", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_programs_min_tier_id_tiers"),
            "tiers",
            ["min_tier_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_programs_min_tier_id_tiers"), type_="foreignkey")
        batch_op.drop_column("tier_only_until")
        batch_op.drop_column("min_tier_id")

    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_articles_tier_id_tiers"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_articles_tier_id"))
        batch_op.drop_column("tier_only_until")
        batch_op.drop_column("tier_id")

    with op.batch_alter_table("tier_benefits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tier_benefits_tier_id"))

    op.drop_table("tier_benefits")
