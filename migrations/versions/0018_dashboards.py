"""dashboard indexes on the ledger

Revision ID: 0018_dashboards
Revises: 0016_sign_in_links
Create Date: 2026-11-23 15:30:00.000000
"""

from alembic import op

revision = "0018_dashboards"
down_revision = "0017_api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entries_month_kind_person", ["month", "kind", "person_id"], unique=False
        )
        batch_op.create_index("ix_ledger_entries_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_ledger_entries_program_kind_budget",
            ["program_id", "kind", "budget_points"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_program_kind_budget")
        batch_op.drop_index("ix_ledger_entries_created_at")
        batch_op.drop_index("ix_ledger_entries_month_kind_person")
