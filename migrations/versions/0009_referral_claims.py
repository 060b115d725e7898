"""referral claims

Revision ID: 0009_referral_claims
Revises: 0008_claim_source_keys
Create Date: 2026-11-23 13:25:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_referral_claims"
down_revision = "0008_claim_source_keys"
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('sale', 'install', 'order', 'payment')"
KINDS_AFTER = "kind IN ('sale', 'install', 'order', 'payment', 'referral')"


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("referred_partner_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_claims_referred_partner_id"), ["referred_partner_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_claims_referred_partner_id_partner_organizations"),
            "partner_organizations",
            ["referred_partner_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.drop_constraint(op.f("ck_claims_kind"), type_="check")
        batch_op.create_check_constraint("kind", KINDS_AFTER)


def downgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_claims_kind"), type_="check")
        batch_op.create_check_constraint("kind", KINDS_BEFORE)
        batch_op.drop_constraint(
            batch_op.f("fk_claims_referred_partner_id_partner_organizations"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_claims_referred_partner_id"))
        batch_op.drop_column("referred_partner_id")
