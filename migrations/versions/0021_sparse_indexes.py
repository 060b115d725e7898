"""sparse indexes: serials, referrals, once-only keys and back references indexed only where set

The ledger's index on program_id alone goes: four indexes lead with it already.

Revision ID: 0021_sparse_indexes
Revises: 0020_leaderboards
Create Date: 2026-12-01 13:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_sparse_indexes"
down_revision = "0020_leaderboards"
branch_labels = None
depends_on = None

#: (index, table, columns, the column that must be set)
SPARSE = (
    ("ix_claims_serial", "claims", ["serial"], "serial"),
    ("ix_claims_referred_partner_id", "claims", ["referred_partner_id"], "referred_partner_id"),
    ("ix_ledger_entries_refers_to_id", "ledger_entries", ["refers_to_id"], "refers_to_id"),
    (
        "ix_ledger_entries_program_once_key",
        "ledger_entries",
        ["program_id", "once_key"],
        "once_key",
    ),
)


def upgrade() -> None:
    for name, table, columns, column in SPARSE:
        op.drop_index(name, table_name=table)
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, table, columns, sqlite_where=where, postgresql_where=where)
    op.drop_index("ix_ledger_entries_program_id", table_name="ledger_entries")


def downgrade() -> None:
    op.create_index("ix_ledger_entries_program_id", "ledger_entries", ["program_id"])
    for name, table, columns, _column in SPARSE:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns)
