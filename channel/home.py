"""What a field person's phone home shows: their points, what expires soon, what to do next,
their latest claims, the reward they save for (or else the next one within reach, in their
country at its price there) and where they stand among peers."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.claim_models import Claim
from channel.expiry import points_expiring
from channel.leaderboard import Standing, standings
from channel.partner_models import PartnerOrganization
from channel.postings import balance_of, person_account
from channel.reward_offers import RewardOffer
from channel.rewards import Reward
from channel.saving_goals import GoalProgress, goal_progress
from roles.permissions import Role

#: What each field role does next, first match wins: (role, claim kind).
NEXT_STEPS = (
    (Role.TECHNICIAN, "install"),
    (Role.ENGINEER, "install"),
    (Role.SELLER, "sale"),
    (Role.PROCUREMENT, "order"),
)
#: Points about to expire are announced this long ahead.
EXPIRY_AHEAD = timedelta(days=30)
LATEST_CLAIMS = 3


@dataclass(frozen=True)
class Home:
    pending: int
    available: int
    #: Available points that expire within EXPIRY_AHEAD unless spent first.
    expiring: int
    #: The kinds of claim the person's roles make, in the order to offer them.
    next_kinds: list[str]
    claims: list[Claim]
    #: The cheapest reward offered in the person's country they cannot afford yet, with
    #: its offer there.
    within_reach: tuple[Reward, RewardOffer] | None
    #: The way to the reward the person saves for; None without a goal.
    goal: GoalProgress | None
    standings: list[Standing]


def next_claim_kinds(roles) -> list[str]:
    """The kinds of claim a person with these roles makes, each once, the role's own first."""
    kinds = [kind for role, kind in NEXT_STEPS if role in roles]
    if Role.PROCUREMENT in roles:
        kinds.append("payment")
    return list(dict.fromkeys(kinds))


def claim_kinds(roles) -> list[str]:
    """What "My claims" offers: the role's own kinds in the role's order (as the home), then a
    referral, which anyone may make and no role makes first."""
    return [*next_claim_kinds(roles), "referral"]


def home_of(session: Session, person, now: datetime, lifetime: timedelta) -> Home:
    account = person_account(person.id)
    pending, available = balance_of(session, account)
    latest = session.scalars(
        select(Claim)
        .where(Claim.person_id == person.id)
        .order_by(Claim.id.desc())
        .limit(LATEST_CLAIMS)
    ).all()
    within_reach = session.execute(
        select(Reward, RewardOffer)
        .join(RewardOffer, RewardOffer.reward_id == Reward.id)
        .join(PartnerOrganization, PartnerOrganization.country == RewardOffer.country)
        .where(
            PartnerOrganization.id == person.partner_id,
            Reward.active.is_(True),
            RewardOffer.points_price > available,
        )
        .order_by(RewardOffer.points_price, Reward.id)
        .limit(1)
    ).first()
    return Home(
        pending=pending,
        available=available,
        expiring=points_expiring(session, account, by=now + EXPIRY_AHEAD, lifetime=lifetime),
        next_kinds=next_claim_kinds(person.roles),
        claims=list(latest),
        within_reach=tuple(within_reach) if within_reach else None,
        goal=goal_progress(session, person, now),
        standings=standings(session, person),
    )
