"""claim rollups: claims counted by month created, partner, status and fraud flag; people's
earnings totalled through each closed month

Claims are counted by `channel.claim_rollups` with every claim from now on, filled here from
the claims; the totals are stored by `flask rollups refresh`, filled here for the months
already stored.

Revision ID: 0046_claim_rollups
Revises: 0044_engagement_rollups
Create Date: 2026-12-04 15:30:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0046_claim_rollups"
down_revision = "0045_redemption_face_value"
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
    op.create_table(
        "earning_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_earning_totals")),
        sa.UniqueConstraint(
            "month",
            "person_id",
            "program_id",
            "partner_id",
            name=op.f("uq_earning_totals_month_person_id_program_id_partner_id"),
        ),
    )
    bind = op.get_bind()
    entries = sa.table(
        "ledger_entries",
        *map(sa.column, ("person_id", "program_id", "partner_id", "points", "kind")),
        sa.column("to_pool", sa.Boolean()),
        sa.column("created_at", core.db.UTCDateTime(timezone=True)),
    )
    c = entries.c
    program = sa.func.coalesce(c.program_id, 0)
    columns = ["month", "person_id", "program_id", "partner_id", "points"]
    totals = sa.table("earning_totals", *map(sa.column, columns))
    for (key,) in bind.execute(sa.text("SELECT month FROM month_refreshes")):
        year, month = map(int, key.split("-"))
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
        earned = (
            sa.select(sa.literal(key), c.person_id, program, c.partner_id, sa.func.sum(c.points))
            .where(
                c.kind.in_(["earn", "reverse"]),
                c.to_pool.is_(False),
                c.person_id.is_not(None),
                c.created_at < end,
            )
            .group_by(c.person_id, program, c.partner_id)
        )
        op.execute(totals.insert().from_select(columns, earned))


def downgrade() -> None:
    op.drop_table("earning_totals")
    op.drop_table("claim_months")
