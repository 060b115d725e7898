"""reward categories: every reward in one category, the usual one for its kind

Revision ID: 0034_reward_categories
Revises: 0033_surveys
"""

import sqlalchemy as sa
from alembic import op

revision = "0034_reward_categories"
down_revision = "0033_surveys"
branch_labels = None
depends_on = None

CATEGORIES = (
    "gift_cards",
    "goods",
    "experiences",
    "hobby_branded",
    "training",
    "charity_esg",
    "cashout",
)
#: Fixed here, not imported: the migration must keep doing what it did when it was written.
CATEGORY_OF_KIND = {
    "gift_card": "gift_cards",
    "physical": "goods",
    "training_seat": "training",
    "donation": "charity_esg",
    "cashout": "cashout",
}


def upgrade() -> None:
    with op.batch_alter_table("rewards") as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(length=20), nullable=True))
    rewards = sa.table("rewards", sa.column("kind", sa.String), sa.column("category", sa.String))
    for kind, category in CATEGORY_OF_KIND.items():
        op.execute(rewards.update().where(rewards.c.kind == kind).values(category=category))
    allowed = ", ".join(f"'{category}'" for category in CATEGORIES)
    with op.batch_alter_table("rewards") as batch_op:
        batch_op.alter_column("category", existing_type=sa.String(length=20), nullable=False)
        batch_op.create_check_constraint("category", f"category IN ({allowed})")
        batch_op.create_index(batch_op.f("ix_rewards_category"), ["category"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rewards") as batch_op:
        batch_op.drop_index(batch_op.f("ix_rewards_category"))
        batch_op.drop_constraint(op.f("ck_rewards_category"), type_="check")
        batch_op.drop_column("category")
