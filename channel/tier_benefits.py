"""What a tier gives beyond its multiplier: an account manager, a priority support line, early
access, articles of its own, invitations; and who may see what a tier holds back.

Channel managers list each tier's benefits; the partner manager's dashboard and the
tier-reached message show them. Articles and programs may be limited to a tier: a partner
below it does not see them, for good or, with a date (early access), until that date.
A partner's standing is its tier's rank; no tier is below every tier.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from channel.partner_models import PartnerOrganization, Tier
from core.db import Base, utcnow
from core.errors import InvalidInput
from core.states import State, one_of

#: The lengths of the columns below.
MAX_TEXT = 300
MAX_NAME = 120
MAX_CONTACT = 120


class BenefitKind(State):
    ACCOUNT_MANAGER = "account_manager", _l("Account manager")
    PRIORITY_SUPPORT = "priority_support", _l("Priority support line")
    EARLY_ACCESS = "early_access", _l("Early access to programs and products")
    TIER_ARTICLES = "tier_articles", _l("Articles for this tier only")
    EVENT_INVITATION = "event_invitation", _l("Event invitations")


#: Kinds that name a person or a line to call: their contact is required.
NEEDS_CONTACT = {BenefitKind.ACCOUNT_MANAGER, BenefitKind.PRIORITY_SUPPORT}


class TierBenefit(Base):
    """One benefit of a tier, as the channel manager wrote it (in their own words: names,
    numbers and events are not translated; the kind's label is)."""

    __tablename__ = "tier_benefits"
    __table_args__ = (one_of("kind", BenefitKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tier_id: Mapped[int] = mapped_column(ForeignKey("tiers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    #: What it is: "ISH Frankfurt, March", "New heat pumps two months before launch"…
    text: Mapped[str] = mapped_column(String(MAX_TEXT), default="")
    #: The account manager's name (account manager only).
    contact_name: Mapped[str | None] = mapped_column(String(MAX_NAME))
    #: A phone number or an e-mail address: the account manager's, or the support line.
    contact: Mapped[str | None] = mapped_column(String(MAX_CONTACT))
    #: Order on the page and in messages.
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tier: Mapped[Tier] = relationship()

    @property
    def kind_label(self) -> str:
        return BenefitKind.label_of(self.kind)

    @property
    def details(self) -> str:
        """Its name, contact and words, as typed (nothing here is translated)."""
        return ", ".join(part for part in (self.contact_name, self.contact, self.text) if part)


@dataclass(frozen=True)
class BenefitDetails:
    kind: str
    text: str = ""
    contact_name: str = ""
    contact: str = ""


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def add_benefit(session: Session, tier: Tier, details: BenefitDetails) -> TierBenefit:
    """List a benefit on `tier`; every problem at once, nothing saved on one."""
    errors = {}
    text, name, contact = (
        _clean(details.text),
        _clean(details.contact_name),
        _clean(details.contact),
    )
    if details.kind not in list(BenefitKind):
        errors["kind"] = _l("Choose a kind of benefit.")
    if details.kind == BenefitKind.ACCOUNT_MANAGER and not name:
        errors["contact_name"] = _l("Give the account manager's name.")
    if details.kind in NEEDS_CONTACT and not contact:
        errors["contact"] = _l("Give a phone number or an e-mail address to reach them.")
    if details.kind in list(BenefitKind) and details.kind not in NEEDS_CONTACT and not text:
        errors["text"] = _l("Say what the benefit is.")
    for field, value, limit in (
        ("text", text, MAX_TEXT),
        ("contact_name", name, MAX_NAME),
        ("contact", contact, MAX_CONTACT),
    ):
        if len(value) > limit:
            errors[field] = _l("At most %(max)s characters.", max=limit)
    if errors:
        raise InvalidInput(errors)
    # Only the order on the page: two added at once may share a position, then go by id.
    listed = benefits_of(session, tier.id)
    benefit = TierBenefit(
        tier_id=tier.id,
        kind=details.kind,
        text=text,
        contact_name=name or None,
        contact=contact or None,
        position=max((b.position for b in listed), default=-1) + 1,
    )
    session.add(benefit)
    session.flush()
    return benefit


def remove_benefit(session: Session, benefit: TierBenefit) -> None:
    session.delete(benefit)
    session.flush()


def benefits_of(session: Session, tier_id: int | None) -> list[TierBenefit]:
    """A tier's benefits in their order; none for no tier."""
    if tier_id is None:
        return []
    return list(
        session.scalars(
            select(TierBenefit)
            .where(TierBenefit.tier_id == tier_id)
            .order_by(TierBenefit.position, TierBenefit.id)
        )
    )


def benefits_by_tier(session: Session) -> dict[int, list[TierBenefit]]:
    """Every tier's benefits, by tier id (a tier with none is left out)."""
    found: dict[int, list[TierBenefit]] = {}
    for benefit in session.scalars(
        select(TierBenefit).order_by(TierBenefit.tier_id, TierBenefit.position, TierBenefit.id)
    ):
        found.setdefault(benefit.tier_id, []).append(benefit)
    return found


def benefit_by_id(session: Session, benefit_id: int) -> TierBenefit | None:
    return session.get(TierBenefit, benefit_id)


# ---------------------------------------------------------------- limited to a tier


def standing_of(session: Session, partner_id: int | None) -> int | None:
    """The rank of the partner's tier; None for no tier (or no partner)."""
    if partner_id is None:
        return None
    return session.scalar(
        select(Tier.rank)
        .join(PartnerOrganization, PartnerOrganization.tier_id == Tier.id)
        .where(PartnerOrganization.id == partner_id)
    )


def open_to(
    tier: Tier | None, only_until: datetime | None, standing: int | None, now: datetime
) -> bool:
    """Whether something limited to `tier` (None: to nobody) is seen by a partner whose tier
    ranks `standing`: always at that tier or above; below it, only once `only_until` (the end
    of its early access) has passed."""
    if tier is None:
        return True
    if standing is not None and standing >= tier.rank:
        return True
    return only_until is not None and now >= only_until


def tier_condition(tier_column, until_column, standing: int | None, now: datetime):
    """The SQL form of `open_to`, for a table with a tier and an early-access end."""
    reached = select(Tier.id).where(Tier.rank <= standing) if standing is not None else None
    condition = tier_column.is_(None) | (until_column.is_not(None) & (until_column <= now))
    if reached is not None:
        condition = condition | tier_column.in_(reached)
    return condition
