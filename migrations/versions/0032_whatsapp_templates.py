"""WhatsApp windows per person, the registry of Content templates, outbox template columns

Revision ID: 0032_whatsapp_templates
Revises: 0031_claim_photos
Create Date: 2026-12-04 11:14:39.878074
"""

import sqlalchemy as sa
from alembic import op

import core.db


revision = "0032_whatsapp_templates"
down_revision = "0031_claim_photos"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('content_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('content_sid', sa.String(length=64), nullable=False),
    sa.Column('friendly_name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('content_type', sa.String(length=32), server_default='twilio/text', nullable=False),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('approval', sa.String(length=16), nullable=False),
    sa.Column('rejection_reason', sa.String(length=255), nullable=True),
    sa.Column('category', sa.String(length=16), nullable=True),
    sa.Column('updated_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('synced_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("approval IN ('unsubmitted', 'received', 'pending', 'approved', 'rejected', 'paused', 'disabled', 'removed')", name=op.f('ck_content_templates_approval')),
    sa.CheckConstraint("category IN ('utility', 'marketing', 'authentication')", name=op.f('ck_content_templates_category')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_templates')),
    sa.UniqueConstraint('content_sid', name=op.f('uq_content_templates_content_sid'))
    )
    with op.batch_alter_table('content_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_content_templates_kind'), ['kind'], unique=False)

    op.create_table('whatsapp_windows',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('last_inbound_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_whatsapp_windows_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_whatsapp_windows'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_values', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('content_sid', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('content_variables', sa.Text(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('content_variables')
        batch_op.drop_column('content_sid')
        batch_op.drop_column('template_values')

    op.drop_table('whatsapp_windows')
    with op.batch_alter_table('content_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_content_templates_kind'))

    op.drop_table('content_templates')
