"""The fraud and loophole rules that flag a claim for review, and the keys they compare by.

Each rule takes the session, the claim (already flushed, so it has an id) and the facts the
rules share (`channel.serial_checks.ClaimFacts`: the company, the programs it approved for the
claim's day, the serial's unit, each read once for all of them), and answers whether it looks
wrong. The names are what reviewers and claimants see, translated.

Concurrency: the rules that compare a claim with other claims (a duplicate serial or invoice
line, more units than the partner bought, a person's burst) read, then the claim is written;
two twins submitted at once would each miss the other. So `channel.claims.submit_claim` first
locks the claim's normalised keys (`claim_lock_keys`, through `core.db.lock_keys`) and holds
them to commit: a twin waits, then finds the first claim and is flagged exactly as one
submitted later is. A rule that compares by something new adds it to `claim_lock_keys`.
The serial registry's rules (`channel.serial_checks`) compare by the serial, locked already.
"""

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channel.claim_models import LIVE_STATUSES, Claim, ClaimKind, ClaimLine
from channel.partner_models import PartnerOrganization
from channel.purchases import PurchaseLine
from channel.serial_checks import SERIAL_FLAG_LABELS, SERIAL_RULES, ClaimFacts
from core.db import utcnow

FLAG_LABELS = {
    "duplicate_serial": _l("This serial number was already claimed."),
    "duplicate_invoice_line": _l("This invoice line was already claimed."),
    "exceeds_purchases": _l("More units claimed than the company bought."),
    "velocity": _l("Far more claims than this person usually makes."),
    "outside_program": _l("The date is outside every program the company takes part in."),
    "self_referral": _l("The referred company is the claimant's own, or of the same group."),
    "serial_in_photo": _l("No serial number was given: read it from the photo."),
    "invoice_in_photo": _l(
        "No invoice number or products were given: read them from the invoice photo."
    ),
    **SERIAL_FLAG_LABELS,
}

VELOCITY_WINDOW = timedelta(days=1)
VELOCITY_BASELINE = timedelta(days=90)
VELOCITY_FLOOR = 10


def _live_claims(session: Session, claim: Claim):
    return select(Claim.id).where(Claim.id != claim.id, Claim.status.in_(LIVE_STATUSES))


def claim_lock_keys(claim: Claim) -> list[str]:
    """What the rules below compare a claim by, which no twin may write meanwhile."""
    keys = [f"claim-person:{claim.person_id}"]  # velocity
    if claim.serial:
        keys.append(f"claim-serial:{claim.serial}")
    for line in claim.lines:
        if claim.invoice_number:
            keys.append(f"claim-invoice-line:{claim.partner_id}:{claim.invoice_number}:{line.sku}")
        if claim.kind == ClaimKind.SALE:  # exceeds_purchases
            keys.append(f"claim-units:{claim.partner_id}:{line.sku}")
    return keys


def duplicate_serial(session: Session, claim: Claim, facts: ClaimFacts) -> bool:
    if not claim.serial:
        return False
    return (
        session.scalar(_live_claims(session, claim).where(Claim.serial == claim.serial).limit(1))
        is not None
    )


def duplicate_invoice_line(session: Session, claim: Claim, facts: ClaimFacts) -> bool:
    if not claim.invoice_number or not claim.lines:
        return False
    skus = [line.sku for line in claim.lines]
    stmt = (
        select(ClaimLine.id)
        .join(Claim, Claim.id == ClaimLine.claim_id)
        .where(
            Claim.id != claim.id,
            Claim.status.in_(LIVE_STATUSES),
            Claim.partner_id == claim.partner_id,
            Claim.invoice_number == claim.invoice_number,
            ClaimLine.sku.in_(skus),
        )
        .limit(1)
    )
    return session.scalar(stmt) is not None


def exceeds_purchases(session: Session, claim: Claim, facts: ClaimFacts) -> bool:
    """Units of a product the partner's people claim to have sold beyond what the partner
    bought: its purchase lines of that product (invoices less credit notes). Only where its
    purchases are known: a partner with no purchase line at all is not judged."""
    if claim.kind != ClaimKind.SALE or not claim.lines:
        return False
    known = session.scalar(
        select(PurchaseLine.id).where(PurchaseLine.partner_id == claim.partner_id).limit(1)
    )
    if known is None:
        return False
    for line in claim.lines:
        bought = session.scalar(
            select(func.coalesce(func.sum(PurchaseLine.quantity), 0)).where(
                PurchaseLine.partner_id == claim.partner_id, PurchaseLine.sku == line.sku
            )
        )
        claimed = session.scalar(
            select(func.coalesce(func.sum(ClaimLine.quantity), 0))
            .join(Claim, Claim.id == ClaimLine.claim_id)
            .where(
                Claim.partner_id == claim.partner_id,
                Claim.kind == ClaimKind.SALE,
                Claim.status.in_(LIVE_STATUSES),
                ClaimLine.sku == line.sku,
            )
        )
        if claimed > bought:
            return True
    return False


def velocity(session: Session, claim: Claim, facts: ClaimFacts) -> bool:
    now = claim.created_at or utcnow()
    recent = session.scalar(
        select(func.count(Claim.id)).where(
            Claim.person_id == claim.person_id, Claim.created_at > now - VELOCITY_WINDOW
        )
    )
    earlier = session.scalar(
        select(func.count(Claim.id)).where(
            Claim.person_id == claim.person_id,
            Claim.created_at <= now - VELOCITY_WINDOW,
            Claim.created_at > now - VELOCITY_BASELINE,
        )
    )
    daily_norm = earlier / (VELOCITY_BASELINE.days - 1)
    return recent > max(VELOCITY_FLOOR, 5 * daily_norm)


def outside_program(session: Session, claim: Claim, facts: ClaimFacts) -> bool:
    return not facts.approved_programs


def self_referral(session: Session, claim: Claim, facts: ClaimFacts) -> bool:
    """Referring one's own company, or one of the same group (its distributor or its dealers)."""
    if claim.kind != ClaimKind.REFERRAL or claim.referred_partner_id is None:
        return False
    if claim.referred_partner_id == claim.partner_id:
        return True
    own = facts.partner
    referred = session.get(PartnerOrganization, claim.referred_partner_id)
    return referred.parent_id == own.id or (
        own.parent_id is not None and own.parent_id == referred.id
    )


def serial_in_photo(session: Session, claim: Claim, facts: ClaimFacts) -> bool:
    """An install sent as a photo of the plate alone: a reviewer reads the serial."""
    return claim.kind == ClaimKind.INSTALL and not claim.serial


def invoice_in_photo(session: Session, claim: Claim, facts: ClaimFacts) -> bool:
    """A sale sent as a photo of the invoice without all it says: a reviewer reads the rest."""
    return claim.kind == ClaimKind.SALE and not (claim.invoice_number and claim.lines)


FRAUD_RULES = {
    "duplicate_serial": duplicate_serial,
    "duplicate_invoice_line": duplicate_invoice_line,
    "exceeds_purchases": exceeds_purchases,
    "velocity": velocity,
    "outside_program": outside_program,
    "self_referral": self_referral,
    "serial_in_photo": serial_in_photo,
    "invoice_in_photo": invoice_in_photo,
    **SERIAL_RULES,
}


def claim_facts(session: Session, claim: Claim) -> ClaimFacts:
    """What the rules read about `claim`'s company and the serial registry, read as asked."""
    return ClaimFacts(
        session, session.get(PartnerOrganization, claim.partner_id), claim.occurred_on
    )


def flags_of(session: Session, claim: Claim, facts: ClaimFacts | None = None) -> list[str]:
    """The names of the rules that flag the claim; empty for a clean one. `facts`: what the
    caller already read about the claim (`claim_facts`), shared by every rule."""
    facts = facts or claim_facts(session, claim)
    return [name for name, rule in FRAUD_RULES.items() if rule(session, claim, facts)]
