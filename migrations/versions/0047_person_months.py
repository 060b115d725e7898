"""person months: each person's earn entries, claims and earnings by month, program and
partner, kept with every posting and claim (`channel.person_months`), filled here from the
ledger and the claims

Revision ID: 0047_person_months
Revises: 0046_claim_rollups
Create Date: 2026-12-04 17:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0047_person_months"
down_revision = "0046_claim_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("earn_lines", sa.Integer(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_months")),
        sa.UniqueConstraint(
            "month",
            "person_id",
            "program_id",
            "partner_id",
            name=op.f("uq_person_months_month_person_id_program_id_partner_id"),
        ),
    )
    op.create_index(
        "ix_person_months_partner_month", "person_months", ["partner_id", "month"], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        written = "to_char(timezone('UTC', {}.created_at), 'YYYY-MM')"
    else:
        written = "substr({}.created_at, 1, 7)"
    e, c = written.format("e"), written.format("c")
    op.execute(
        "INSERT INTO person_months (month, person_id, program_id, partner_id, earn_lines, "
        "claims, points, lines) "
        "SELECT month, person_id, program_id, partner_id, sum(earn_lines), sum(claims), "
        "sum(points), sum(lines) FROM ("
        "SELECT e.month AS month, e.person_id AS person_id, "
        "coalesce(e.program_id, 0) AS program_id, e.partner_id AS partner_id, "
        "count(*) AS earn_lines, 0 AS claims, 0 AS points, 0 AS lines "
        "FROM ledger_entries e WHERE e.kind = 'earn' AND e.person_id IS NOT NULL "
        "GROUP BY e.month, e.person_id, coalesce(e.program_id, 0), e.partner_id "
        f"UNION ALL SELECT {e}, e.person_id, coalesce(e.program_id, 0), e.partner_id, "
        "0, 0, sum(e.points), count(*) FROM ledger_entries e "
        "WHERE e.kind IN ('earn', 'reverse') AND e.to_pool = false AND e.person_id IS NOT NULL "
        f"GROUP BY {e}, e.person_id, coalesce(e.program_id, 0), e.partner_id "
        f"UNION ALL SELECT {c}, c.person_id, 0, c.partner_id, 0, count(*), 0, 0 "
        f"FROM claims c GROUP BY {c}, c.person_id, c.partner_id"
        ") AS parts GROUP BY month, person_id, program_id, partner_id"
    )


def downgrade() -> None:
    op.drop_index("ix_person_months_partner_month", table_name="person_months")
    op.drop_table("person_months")
