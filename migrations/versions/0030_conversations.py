"""conversations: a thread per person, with the inbox's replies, notes and acknowledgements

Revision ID: 0030_conversations
Revises: 0029_tier_reason_codes
Create Date: 2026-12-04 11:19:09.919060
"""

import sqlalchemy as sa
from alembic import op

import core.db


revision = "0030_conversations"
down_revision = "0029_tier_reason_codes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('unread', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_channel', sa.String(length=16), nullable=False),
    sa.Column('last_message_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_on', sa.Date(), nullable=True),
    sa.CheckConstraint("last_channel IN ('whatsapp', 'sms', 'email', 'inapp')", name=op.f('ck_conversations_last_channel')),
    sa.CheckConstraint("status IN ('open', 'done')", name=op.f('ck_conversations_status')),
    sa.CheckConstraint('unread >= 0', name=op.f('ck_conversations_unread_not_negative')),
    sa.ForeignKeyConstraint(['assignee_id'], ['people.id'], name=op.f('fk_conversations_assignee_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_conversations_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    sa.UniqueConstraint('person_id', name=op.f('uq_conversations_person_id'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversations_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_last_message_at'), ['last_message_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_status'), ['status'], unique=False)

    op.create_table('conversation_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('inbound_message_id', sa.Integer(), nullable=True),
    sa.Column('outbox_message_id', sa.Integer(), nullable=True),
    sa.Column('at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('whatsapp', 'sms', 'email', 'inapp')", name=op.f('ck_conversation_entries_channel')),
    sa.CheckConstraint("kind IN ('person', 'reply', 'ack', 'note')", name=op.f('ck_conversation_entries_kind')),
    sa.ForeignKeyConstraint(['author_id'], ['people.id'], name=op.f('fk_conversation_entries_author_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_entries_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbound_message_id'], ['inbound_messages.id'], name=op.f('fk_conversation_entries_inbound_message_id_inbound_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_messages.id'], name=op.f('fk_conversation_entries_outbox_message_id_outbox_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_entries')),
    sa.UniqueConstraint('inbound_message_id', name=op.f('uq_conversation_entries_inbound_message_id'))
    )
    with op.batch_alter_table('conversation_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_entries_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversation_entries_conversation_id'), ['conversation_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('conversation_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_entries_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_conversation_entries_at'))

    op.drop_table('conversation_entries')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_status'))
        batch_op.drop_index(batch_op.f('ix_conversations_last_message_at'))
        batch_op.drop_index(batch_op.f('ix_conversations_assignee_id'))

    op.drop_table('conversations')
