"""What the rewards pages list: the catalog of a person's country at its prices, every reward
for the people who keep them, and redemptions."""

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from channel.partner_models import PartnerOrganization
from channel.reward_categories import RewardCategory
from channel.reward_offers import RewardOffer
from channel.rewards import Redemption, RedemptionStatus, Reward, RewardKind, codes_left


def left_of(session: Session, reward: Reward) -> int | None:
    """What is left to redeem: unused codes of a gift card, else the stock (None: unlimited)."""
    return codes_left(session, reward) if reward.kind == RewardKind.GIFT_CARD else reward.stock


def country_of(session: Session, person) -> str | None:
    """The country whose catalog `person` sees: their partner's; None for the manufacturer's."""
    if person.partner_id is None:
        return None
    return session.scalar(
        select(PartnerOrganization.country).where(PartnerOrganization.id == person.partner_id)
    )


def offered_rewards(
    session: Session, country: str | None, category: str | None = None
) -> list[tuple[Reward, RewardOffer]]:
    """The rewards staff in `country` may redeem with their offer there, cheapest there first;
    only those of `category` if one is given."""
    query = (
        select(Reward, RewardOffer)
        .join(RewardOffer, RewardOffer.reward_id == Reward.id)
        .where(Reward.active.is_(True), RewardOffer.country == country)
    )
    if category:
        query = query.where(Reward.category == category)
    return [
        (reward, offer)
        for reward, offer in session.execute(
            query.order_by(RewardOffer.points_price, Reward.id)
        ).all()
    ]


def offered_categories(session: Session, country: str | None) -> list[tuple[RewardCategory, int]]:
    """The categories at least one reward offered in `country` is in, in the order of
    `RewardCategory`, each with how many rewards it holds there."""
    rewards = session.scalars(
        select(Reward.category)
        .join(RewardOffer, RewardOffer.reward_id == Reward.id)
        .where(Reward.active.is_(True), RewardOffer.country == country)
    ).all()
    return [
        (category, rewards.count(category)) for category in RewardCategory if category in rewards
    ]


def all_rewards(session: Session) -> list[Reward]:
    """Every reward with its offers, newest first."""
    return session.scalars(
        select(Reward).options(selectinload(Reward.offers)).order_by(Reward.id.desc())
    ).all()


def redemptions_of(session: Session, person_id: int) -> list[Redemption]:
    """A person's redemptions, newest first."""
    return session.scalars(
        select(Redemption).where(Redemption.person_id == person_id).order_by(Redemption.id.desc())
    ).all()


def open_redemptions(session: Session) -> list[Redemption]:
    """Redemptions waiting to be fulfilled, oldest first."""
    return session.scalars(
        select(Redemption)
        .where(Redemption.status == RedemptionStatus.REQUESTED)
        .order_by(Redemption.id)
    ).all()
