"""outbox source index: only messages that have a source

Every message sent has its outcome written as a new row version (its status and provider_id
are indexed, so PostgreSQL cannot rewrite it in place), and each index of the table gets an
entry for it. The index on source needs one only for messages that have a source
(campaigns, triggers, surveys), which every query by source asks for; transactional
messages, most of the outbox, now cost it nothing.

Revision ID: 0049_outbox_source_index
Revises: 0048_outbox_due_index
Create Date: 2026-12-04 20:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0049_outbox_source_index"
down_revision = "0048_outbox_due_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_outbox_messages_source", table_name="outbox_messages")
    op.create_index(
        "ix_outbox_messages_source",
        "outbox_messages",
        ["source"],
        unique=False,
        sqlite_where=sa.text("source IS NOT NULL"),
        postgresql_where=sa.text("source IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_source", table_name="outbox_messages")
    op.create_index("ix_outbox_messages_source", "outbox_messages", ["source"], unique=False)
