"""Saving for a reward: a person picks one reward as their goal, and their phone home shows
the way to it — the points still needed and, at their recent pace, about how long.

One goal per person, held by the primary key: choosing another replaces it, and two
choices at the same moment leave one of them, never two rows.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from channel.ledger import EntryKind, LedgerEntry
from channel.postings import balance_of, person_account
from channel.reward_offers import RewardOffer
from channel.rewards import Reward, offer_to
from core.db import Base, utcnow
from core.errors import InvalidInput

#: The pace is what the person earned over this many days before now.
PACE_WINDOW = timedelta(days=30)


class SavingGoal(Base):
    __tablename__ = "saving_goals"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    #: A reward deleted takes the goals on it along.
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id", ondelete="CASCADE"), index=True)
    chosen_at: Mapped[datetime] = mapped_column(default=utcnow)

    reward: Mapped[Reward] = relationship()


class GoalRefused(InvalidInput):
    """The reward cannot be a goal; the goal there was is kept."""


def choose_goal(session: Session, person, reward: Reward) -> SavingGoal:
    """Make `reward` the person's goal, in place of any other; only one they could redeem."""
    if not reward.active or offer_to(session, person, reward) is None:
        raise GoalRefused({"reward": _l("This reward is not offered in your country.")})
    goal = session.get(SavingGoal, person.id)
    if goal is None:
        try:
            with session.begin_nested():
                goal = SavingGoal(person_id=person.id, reward_id=reward.id)
                session.add(goal)
                session.flush()
            return goal
        except IntegrityError:
            # Another request chose a goal first: this choice, the later one, replaces it.
            goal = session.get(SavingGoal, person.id, populate_existing=True)
    goal.reward_id, goal.chosen_at = reward.id, utcnow()
    session.flush()
    return goal


def drop_goal(session: Session, person) -> None:
    goal = session.get(SavingGoal, person.id)
    if goal is not None:
        session.delete(goal)
        session.flush()


@dataclass(frozen=True)
class GoalProgress:
    reward: Reward
    #: The reward's offer in the person's country; None: no longer offered there.
    offer: RewardOffer | None
    available: int
    #: Points earned over PACE_WINDOW up to now.
    earned_lately: int

    @property
    def needed(self) -> int:
        return max(self.offer.points_price - self.available, 0) if self.offer else 0

    @property
    def percent(self) -> int:
        """How far along, 0–100, rounded down (100 only when it can be redeemed)."""
        if self.offer is None:
            return 0
        return min(100, self.available * 100 // self.offer.points_price)

    @property
    def days_left(self) -> int | None:
        """About how many days at the recent pace; None without a pace (or nothing left)."""
        if not self.needed or self.earned_lately <= 0:
            return None
        return math.ceil(self.needed * PACE_WINDOW.days / self.earned_lately)


def goal_progress(session: Session, person, now: datetime) -> GoalProgress | None:
    """The way to the person's goal, or None without one."""
    goal = session.get(SavingGoal, person.id)
    if goal is None:
        return None
    reward = goal.reward
    offer = offer_to(session, person, reward) if reward.active else None
    earned = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
            LedgerEntry.account_key == person_account(person.id),
            LedgerEntry.kind.in_((EntryKind.EARN, EntryKind.TRANSFER)),
            LedgerEntry.points > 0,
            LedgerEntry.created_at > now - PACE_WINDOW,
            LedgerEntry.created_at <= now,
        )
    )
    return GoalProgress(
        reward=reward,
        offer=offer,
        available=balance_of(session, person_account(person.id))[1],
        earned_lately=int(earned),
    )
