"""a claim holds several photos: claim_photos replaces claims.photo and photo_type

Revision ID: 0031_claim_photos
Revises: 0030_conversations
Create Date: 2026-12-04 11:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0031_claim_photos"
down_revision = "0030_conversations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("mime_type", sa.String(length=32), nullable=False),
        sa.CheckConstraint("position > 0", name=op.f("ck_claim_photos_position_positive")),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
            name=op.f("fk_claim_photos_claim_id_claims"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_photos")),
        sa.UniqueConstraint(
            "claim_id", "position", name=op.f("uq_claim_photos_claim_id_position")
        ),
    )
    op.execute(
        "INSERT INTO claim_photos (claim_id, position, name, mime_type) "
        "SELECT id, 1, photo, COALESCE(photo_type, 'application/octet-stream') "
        "FROM claims WHERE photo IS NOT NULL"
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_column("photo_type")
        batch_op.drop_column("photo")


def downgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("photo", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("photo_type", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE claims SET photo = (SELECT name FROM claim_photos p WHERE p.claim_id = claims.id "
        "AND p.position = 1), photo_type = (SELECT mime_type FROM claim_photos p "
        "WHERE p.claim_id = claims.id AND p.position = 1)"
    )
    op.drop_table("claim_photos")
