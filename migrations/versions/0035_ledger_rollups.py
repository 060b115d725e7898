"""ledger rollups: the ledger by (month, kind, program, partner) and programs' budget used

Both are backfilled from the existing ledger; `channel.postings` keeps them current.

Revision ID: 0035_ledger_rollups
Revises: 0034_reward_categories
Create Date: 2026-12-04 12:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0035_ledger_rollups"
down_revision = "0034_reward_categories"
branch_labels = None
depends_on = None

KIND_CHECK = "kind IN ('earn', 'release', 'reverse', 'expire', 'redeem', 'refund', 'transfer')"


def _month(dialect: str, column):
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM")
    return sa.func.substr(column, 1, 7)


def upgrade() -> None:
    op.create_table(
        "ledger_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("budget_points", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.CheckConstraint(KIND_CHECK, name=op.f("ck_ledger_months_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_months")),
        sa.UniqueConstraint(
            "month",
            "kind",
            "program_id",
            "partner_id",
            name=op.f("uq_ledger_months_month_kind_program_id_partner_id"),
        ),
    )
    op.create_table(
        "program_budget_uses",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("budget_points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_program_budget_uses_program_id_programs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_program_budget_uses")),
    )
    bind = op.get_bind()
    entries = sa.table(
        "ledger_entries",
        sa.column("created_at"),
        sa.column("kind"),
        sa.column("program_id"),
        sa.column("partner_id"),
        sa.column("points"),
        sa.column("budget_points"),
    )
    c = entries.c
    month = _month(bind.dialect.name, c.created_at).label("month")
    program = sa.func.coalesce(c.program_id, 0).label("program_id")
    columns = ["month", "kind", "program_id", "partner_id", "points", "budget_points", "lines"]
    op.execute(
        sa.table("ledger_months", *map(sa.column, columns))
        .insert()
        .from_select(
            columns,
            sa.select(
                month,
                c.kind,
                program,
                c.partner_id,
                sa.func.sum(c.points),
                sa.func.sum(c.budget_points),
                sa.func.count(),
            ).group_by(month, c.kind, program, c.partner_id),
        )
    )
    op.execute(
        sa.table("program_budget_uses", sa.column("program_id"), sa.column("budget_points"))
        .insert()
        .from_select(
            ["program_id", "budget_points"],
            sa.select(c.program_id, sa.func.sum(c.budget_points))
            .where(c.program_id.is_not(None))
            .group_by(c.program_id)
            .having(sa.func.sum(c.budget_points) != 0),
        )
    )


def downgrade() -> None:
    op.drop_table("program_budget_uses")
    op.drop_table("ledger_months")
