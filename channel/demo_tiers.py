"""What the demo's tiers give besides their multipliers: the benefits its partners see.

Loading them twice changes nothing: a tier that lists benefits already is left as it is.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.partner_models import Tier
from channel.tier_benefits import BenefitKind, TierBenefit

#: tier code -> (kind, text, account manager's name, contact)
DEMO_TIER_BENEFITS = {
    "silver": (
        (BenefitKind.PRIORITY_SUPPORT, "", None, "+37167000200"),
        (BenefitKind.EVENT_INVITATION, "Nordheat installer day, Riga", None, None),
    ),
    "gold": (
        (BenefitKind.ACCOUNT_MANAGER, "", "Laura Ozola", "laura.ozola@nordheat.example"),
        (BenefitKind.PRIORITY_SUPPORT, "24/7", None, "+37167000100"),
        (BenefitKind.EARLY_ACCESS, "New heat pumps two months before launch", None, None),
        (BenefitKind.TIER_ARTICLES, "Service notes for gold partners", None, None),
        (BenefitKind.EVENT_INVITATION, "ISH Frankfurt, with Nordheat", None, None),
    ),
}


def seed_demo_tier_benefits(session: Session) -> int:
    """The demo tiers' benefits; returns how many were added."""
    added = 0
    for code, benefits in DEMO_TIER_BENEFITS.items():
        tier = session.scalar(select(Tier).where(Tier.code == code))
        if tier is None:
            continue
        if session.scalar(select(TierBenefit.id).where(TierBenefit.tier_id == tier.id)):
            continue
        for position, (kind, text, name, contact) in enumerate(benefits):
            session.add(
                TierBenefit(
                    tier_id=tier.id,
                    kind=kind,
                    text=text,
                    contact_name=name,
                    contact=contact,
                    position=position,
                )
            )
            added += 1
    session.flush()
    return added
