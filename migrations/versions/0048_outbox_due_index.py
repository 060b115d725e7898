"""outbox due index: pending messages in the order the worker takes them

A lease walks this index and stops after its few rows, instead of sorting every pending
message (and, on PostgreSQL, checking each one's consent and blocks) at every lease. Two
indexes go: the one on status alone (four values, every query by status has a narrower
index, and SQLite without statistics chose it over this one) and the one on
next_attempt_at (only the old claim used it, and every lease and outcome writes that
column), so each message sent maintains two indexes fewer.

Revision ID: 0048_outbox_due_index
Revises: 0047_person_months
Create Date: 2026-12-04 17:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0048_outbox_due_index"
down_revision = "0047_person_months"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_messages_due",
        "outbox_messages",
        [sa.text("priority DESC"), "id"],
        unique=False,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index("ix_outbox_messages_status", table_name="outbox_messages")
    op.drop_index("ix_outbox_messages_next_attempt_at", table_name="outbox_messages")


def downgrade() -> None:
    op.create_index(
        "ix_outbox_messages_next_attempt_at", "outbox_messages", ["next_attempt_at"], unique=False
    )
    op.create_index("ix_outbox_messages_status", "outbox_messages", ["status"], unique=False)
    op.drop_index("ix_outbox_messages_due", table_name="outbox_messages")
