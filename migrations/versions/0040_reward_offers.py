"""reward offers: each reward offered in chosen countries at its own price; saving goals

Revision ID: 0040_reward_offers
Revises: 0037_gift_card_orders

Existing rewards were offered to everybody at one price. So that nobody loses a reward they
could redeem the day before, each existing reward is offered in every country that has a
partner when this runs, at its price then, without a face value; the people who keep the
catalog then withdraw it where it does not belong.
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0040_reward_offers"
down_revision = "0037_gift_card_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reward_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reward_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("points_price", sa.Integer(), nullable=False),
        sa.Column("face_value", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.CheckConstraint(
            "(face_value IS NULL AND currency IS NULL)"
            " OR (face_value > 0 AND currency IS NOT NULL)",
            name=op.f("ck_reward_offers_face_value_with_currency"),
        ),
        sa.CheckConstraint("points_price > 0", name=op.f("ck_reward_offers_price_positive")),
        sa.ForeignKeyConstraint(
            ["reward_id"],
            ["rewards.id"],
            name=op.f("fk_reward_offers_reward_id_rewards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_offers")),
        sa.UniqueConstraint(
            "reward_id", "country", name=op.f("uq_reward_offers_reward_id_country")
        ),
    )
    op.create_index(op.f("ix_reward_offers_country"), "reward_offers", ["country"], unique=False)
    op.execute(
        "INSERT INTO reward_offers (reward_id, country, points_price)"
        " SELECT rewards.id, countries.country, rewards.points_price"
        " FROM rewards CROSS JOIN"
        " (SELECT DISTINCT country FROM partner_organizations) AS countries"
    )
    op.create_table(
        "saving_goals",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("reward_id", sa.Integer(), nullable=False),
        sa.Column("chosen_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_saving_goals_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"],
            ["rewards.id"],
            name=op.f("fk_saving_goals_reward_id_rewards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_saving_goals")),
    )
    op.create_index(op.f("ix_saving_goals_reward_id"), "saving_goals", ["reward_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_saving_goals_reward_id"), table_name="saving_goals")
    op.drop_table("saving_goals")
    op.drop_index(op.f("ix_reward_offers_country"), table_name="reward_offers")
    op.drop_table("reward_offers")
