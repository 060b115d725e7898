"""redemption face value: what a redeemed reward was worth in money where it was redeemed

Revision ID: 0045_redemption_face_value
Revises: 0044_engagement_rollups

Copied from the offer at redemption, so that a reward's offers can be edited without
changing what people received. Existing redemptions take the face value of the offer in
their person's partner's country as it is when this runs (none where there is none).
"""

import sqlalchemy as sa
from alembic import op

revision = "0045_redemption_face_value"
down_revision = "0044_engagement_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("face_value", sa.Numeric(precision=12, scale=2), nullable=True)
        )
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
    offer = (
        "SELECT reward_offers.{column} FROM reward_offers"
        " JOIN partner_organizations ON partner_organizations.country = reward_offers.country"
        " JOIN people ON people.partner_id = partner_organizations.id"
        " WHERE people.id = redemptions.person_id"
        " AND reward_offers.reward_id = redemptions.reward_id"
    )
    op.execute(
        f"UPDATE redemptions SET face_value = ({offer.format(column='face_value')}),"
        f" currency = ({offer.format(column='currency')})"
    )


def downgrade() -> None:
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_column("currency")
        batch_op.drop_column("face_value")
