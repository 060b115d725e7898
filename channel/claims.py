"""Claims: what a person says they sold, installed, ordered or paid, checked before it earns.

A claim is checked by every fraud rule first; a clean claim is approved at once and becomes
activities (one per line and per person sharing the sale), a flagged one waits in the
review queue with its reasons. A rejection always carries its reason. A returned sale is
reversed in the ledger, also after its points became available (as far as they are left).

Concurrency: the rules that compare a claim with other claims (a duplicate serial or invoice
line, more units than the partner bought, a person's burst) read, then the claim is written;
two twins submitted at once would each miss the other. So `submit_claim` first locks the
claim's normalised keys (`claim_lock_keys`, through `core.db.lock_keys`) and holds them to
commit: a twin waits, then finds the first claim and is flagged exactly as one submitted
later is. A transaction submits one claim, so it never waits for keys while holding a
program's lock. Sell-out imports (`channel.sales_import`) write approved claims without reading
other claims, so a claim racing an import ends as if it came first; they take no key.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from channel.approvals import current_decision, programs_for_partner
from channel.earning import record_activity
from channel.ledger import Activity, LedgerEntry
from channel.models import Product
from channel.partner_models import PartnerOrganization
from channel.postings import Line, balance_of, post
from channel.signals import claim_decided
from core.db import Base, index_where_set, lock_keys, utcnow
from core.errors import InvalidInput
from roles.models import Person

CLAIM_KINDS = ("sale", "install", "order", "payment", "referral")
CLAIM_STATUSES = ("pending", "approved", "rejected", "returned")
#: More units than any one invoice line sells, and far below what the column holds.
MAX_LINE_QUANTITY = 100_000
#: The lengths of the claim's text columns.
TEXT_LENGTHS = {"invoice_number": 64, "serial": 100, "site": 255}


class Claim(Base):
    __tablename__ = "claims"
    __table_args__ = (
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in CLAIM_KINDS) + ")", name="kind"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in CLAIM_STATUSES) + ")", name="status"
        ),
        # Only install and referral claims carry these: indexed where set, so the bulk of
        # sales claims (imports) maintain no index entries for them.
        index_where_set("ix_claims_serial", "serial", where="serial"),
        index_where_set(
            "ix_claims_referred_partner_id", "referred_partner_id", where="referred_partner_id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    #: The day it happened (sale, install, order or payment).
    occurred_on: Mapped[date] = mapped_column(Date)
    invoice_number: Mapped[str | None] = mapped_column(String(64), index=True)
    serial: Mapped[str | None] = mapped_column(String(100))
    #: For a referral: the partner organization the claimant brought in.
    referred_partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT")
    )
    site: Mapped[str | None] = mapped_column(String(255))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    due_on: Mapped[date | None] = mapped_column(Date)
    #: Fraud rules that flagged it, by name; empty for a clean claim.
    flags: Mapped[list] = mapped_column(JSON, default=list)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    #: For imported sell-out data: the source line's key; importing it again changes nothing.
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: The stored proof file (an invoice photo, the serial plate), by its random name.
    photo: Mapped[str | None] = mapped_column(String(64))
    photo_type: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    lines: Mapped[list["ClaimLine"]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="ClaimLine.line_no"
    )
    shares: Mapped[list["ClaimShare"]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="ClaimShare.id"
    )


class ClaimLine(Base):
    __tablename__ = "claim_lines"
    __table_args__ = (
        UniqueConstraint("claim_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    quantity: Mapped[int] = mapped_column(Integer)

    claim: Mapped[Claim] = relationship(back_populates="lines")


class ClaimShare(Base):
    """A person credited with part of a sale (a seller and the engineer who specified it)."""

    __tablename__ = "claim_shares"
    __table_args__ = (
        UniqueConstraint("claim_id", "person_id"),
        CheckConstraint("percent > 0 AND percent <= 100", name="percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    percent: Mapped[int] = mapped_column(Integer)

    claim: Mapped[Claim] = relationship(back_populates="shares")


class InvalidClaim(InvalidInput):
    """The claim cannot be taken as submitted; nothing was saved."""


@dataclass
class ClaimDetails:
    kind: str
    occurred_on: date | None
    lines: list[tuple[str, int]] = field(default_factory=list)
    invoice_number: str | None = None
    serial: str | None = None
    site: str | None = None
    amount: Decimal = Decimal(0)
    due_on: date | None = None
    #: person id -> percent; empty: the claimant alone.
    shares: dict[int, int] = field(default_factory=dict)
    #: (stored name, MIME type) of a proof already checked and saved by `channel.uploads`.
    photo: tuple[str, str] | None = None
    referred_partner_id: int | None = None


# ---------------------------------------------------------------- fraud and loophole rules
#
# Each rule takes the session and the claim (already flushed, so it has an id) and answers
# whether it looks wrong. The names are what reviewers and claimants see, translated.

FLAG_LABELS = {
    "duplicate_serial": _l("This serial number was already claimed."),
    "duplicate_invoice_line": _l("This invoice line was already claimed."),
    "exceeds_purchases": _l("More units claimed than the company bought."),
    "velocity": _l("Far more claims than this person usually makes."),
    "outside_program": _l("The date is outside every program the company takes part in."),
    "self_referral": _l("The referred company is the claimant's own, or of the same group."),
}

VELOCITY_WINDOW = timedelta(days=1)
VELOCITY_BASELINE = timedelta(days=90)
VELOCITY_FLOOR = 10


def _live_claims(session: Session, claim: Claim):
    return select(Claim.id).where(Claim.id != claim.id, Claim.status.in_(("pending", "approved")))


def claim_lock_keys(claim: Claim) -> list[str]:
    """What the rules above compare a claim by, which no twin may write meanwhile."""
    keys = [f"claim-person:{claim.person_id}"]  # velocity
    if claim.serial:
        keys.append(f"claim-serial:{claim.serial}")
    for line in claim.lines:
        if claim.invoice_number:
            keys.append(f"claim-invoice-line:{claim.partner_id}:{claim.invoice_number}:{line.sku}")
        if claim.kind == "sale":  # exceeds_purchases
            keys.append(f"claim-units:{claim.partner_id}:{line.sku}")
    return keys


def duplicate_serial(session: Session, claim: Claim) -> bool:
    if not claim.serial:
        return False
    return (
        session.scalar(_live_claims(session, claim).where(Claim.serial == claim.serial).limit(1))
        is not None
    )


def duplicate_invoice_line(session: Session, claim: Claim) -> bool:
    if not claim.invoice_number or not claim.lines:
        return False
    skus = [line.sku for line in claim.lines]
    stmt = (
        select(ClaimLine.id)
        .join(Claim, Claim.id == ClaimLine.claim_id)
        .where(
            Claim.id != claim.id,
            Claim.status.in_(("pending", "approved")),
            Claim.partner_id == claim.partner_id,
            Claim.invoice_number == claim.invoice_number,
            ClaimLine.sku.in_(skus),
        )
        .limit(1)
    )
    return session.scalar(stmt) is not None


def exceeds_purchases(session: Session, claim: Claim) -> bool:
    """Units of a product claimed by the partner beyond what it bought (where purchases are known)."""
    if claim.kind != "sale":
        return False
    for line in claim.lines:
        bought = session.scalar(
            select(func.sum(Activity.quantity)).where(
                Activity.kind == "purchase",
                Activity.partner_id == claim.partner_id,
                Activity.sku == line.sku,
            )
        )
        if bought is None:
            continue
        claimed = session.scalar(
            select(func.coalesce(func.sum(ClaimLine.quantity), 0))
            .join(Claim, Claim.id == ClaimLine.claim_id)
            .where(
                Claim.partner_id == claim.partner_id,
                Claim.kind == "sale",
                Claim.status.in_(("pending", "approved")),
                ClaimLine.sku == line.sku,
            )
        )
        if claimed > bought:
            return True
    return False


def velocity(session: Session, claim: Claim) -> bool:
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


def outside_program(session: Session, claim: Claim) -> bool:
    partner = session.get(PartnerOrganization, claim.partner_id)
    moment = datetime.combine(claim.occurred_on, time(12), tzinfo=UTC)
    for program in programs_for_partner(session, partner):
        decision = current_decision(session, program, partner)
        if (
            decision is not None
            and decision.outcome == "approved"
            and program.starts_at <= moment < program.ends_at
        ):
            return False
    return True


def self_referral(session: Session, claim: Claim) -> bool:
    """Referring one's own company, or one of the same group (its distributor or its dealers)."""
    if claim.kind != "referral" or claim.referred_partner_id is None:
        return False
    if claim.referred_partner_id == claim.partner_id:
        return True
    own = session.get(PartnerOrganization, claim.partner_id)
    referred = session.get(PartnerOrganization, claim.referred_partner_id)
    return referred.parent_id == own.id or (
        own.parent_id is not None and own.parent_id == referred.id
    )


FRAUD_RULES = {
    "duplicate_serial": duplicate_serial,
    "duplicate_invoice_line": duplicate_invoice_line,
    "exceeds_purchases": exceeds_purchases,
    "velocity": velocity,
    "outside_program": outside_program,
    "self_referral": self_referral,
}


# ---------------------------------------------------------------- submitting and deciding


def referred_partner_id(session: Session, legal_id: str | None, person: Person) -> int | None:
    """The company a referral brought in, found by its registration or VAT number (spaces
    and case ignored), preferring one in the referrer's own country."""
    legal_id = "".join((legal_id or "").split()).upper()
    if not legal_id:
        return None
    matches = session.scalars(
        select(PartnerOrganization).where(PartnerOrganization.legal_id == legal_id)
    ).all()
    own_country = person.partner.country if person.partner else None
    matches.sort(key=lambda partner: partner.country != own_country)
    return matches[0].id if matches else None


def submit_claim(
    session: Session,
    person: Person,
    details: ClaimDetails,
    *,
    today: date,
    return_window: timedelta = timedelta(days=30),
) -> Claim:
    """Check everything, save the claim, run the fraud rules; approve it at once if clean."""
    errors = _check(session, person, details, today)
    if errors:
        raise InvalidClaim(errors)
    claim = Claim(
        person_id=person.id,
        partner_id=person.partner_id,
        kind=details.kind,
        occurred_on=details.occurred_on,
        invoice_number=(details.invoice_number or "").strip().upper() or None,
        serial=(details.serial or "").strip().upper() or None,
        site=(details.site or "").strip() or None,
        amount=details.amount or Decimal(0),
        due_on=details.due_on,
        photo=details.photo[0] if details.photo else None,
        referred_partner_id=details.referred_partner_id,
        photo_type=details.photo[1] if details.photo else None,
        lines=[
            ClaimLine(line_no=n, sku=sku.strip().upper(), quantity=qty)
            for n, (sku, qty) in enumerate(details.lines, 1)
        ],
        shares=[
            ClaimShare(person_id=pid, percent=pct)
            for pid, pct in (details.shares or {person.id: 100}).items()
        ],
    )
    lock_keys(session, *claim_lock_keys(claim))
    claim.created_at = utcnow()  # once its turn came, for the burst rule
    session.add(claim)
    session.flush()
    claim.flags = [name for name, rule in FRAUD_RULES.items() if rule(session, claim)]
    session.flush()
    if not claim.flags:
        approve_claim(session, claim, actor_id=None, return_window=return_window)
    return claim


def _check(session: Session, person: Person, details: ClaimDetails, today: date) -> dict:
    errors: dict[str, str] = {}
    if person.partner_id is None:
        errors["kind"] = _l("Only partner staff submit claims.")
    if details.kind not in CLAIM_KINDS:
        errors["kind"] = _l("Choose what you are claiming.")
    if details.occurred_on is None:
        errors["occurred_on"] = _l("Give the date.")
    elif details.occurred_on > today:
        errors["occurred_on"] = _l("The date cannot be in the future.")
    if details.kind in ("sale", "order"):
        if not details.lines:
            errors["lines"] = _l("Add at least one product and quantity.")
        skus = {sku.strip().upper() for sku, _ in details.lines}
        known = set(session.scalars(select(Product.sku).where(Product.sku.in_(skus))))
        if skus - known:
            errors["lines"] = _l("Unknown product: %(skus)s.", skus=", ".join(sorted(skus - known)))
        if any(qty is None or qty <= 0 for _, qty in details.lines):
            errors["lines"] = _l("Quantities must be at least 1.")
        elif any(qty > MAX_LINE_QUANTITY for _, qty in details.lines):
            errors["lines"] = _l("A line can hold at most %(max)s units.", max=MAX_LINE_QUANTITY)
    if details.kind == "sale" and not (details.invoice_number or "").strip():
        errors["invoice_number"] = _l("Give the invoice number.")
    if details.kind == "install" and not (details.serial or "").strip():
        errors["serial"] = _l("Give the serial number from the plate.")
    for name, longest in TEXT_LENGTHS.items():
        if len((getattr(details, name) or "").strip()) > longest:
            errors[name] = _l("At most %(max)s characters.", max=longest)
    if details.kind == "referral":
        referred = session.get(PartnerOrganization, details.referred_partner_id or 0)
        if referred is None:
            errors["referred_partner_id"] = _l("Choose the company you brought in.")
        elif referred.status != "active":
            errors["referred_partner_id"] = _l("A referral earns once the company is active.")
    if details.kind == "payment" and (details.due_on is None or not details.invoice_number):
        errors["due_on"] = _l("Give the invoice number and its due date.")
    if details.shares:
        if sum(details.shares.values()) != 100 or any(p <= 0 for p in details.shares.values()):
            errors["shares"] = _l("The shares must add up to 100 percent.")
        colleagues = set(
            session.scalars(
                select(Person.id).where(
                    Person.id.in_(details.shares), Person.partner_id == person.partner_id
                )
            )
        )
        if colleagues != set(details.shares):
            errors["shares"] = _l("A sale can only be shared with colleagues of your company.")
        if details.kind != "sale":
            errors["shares"] = _l("Only a sale can be shared.")
    return errors


def approve_claim(
    session: Session, claim: Claim, *, actor_id: int | None, return_window=timedelta(days=30)
):
    """Approve: each line (and each person's share of it) becomes an activity that earns."""
    if claim.status != "pending":
        raise InvalidClaim({"status": _l("Only a pending claim can be approved.")})
    claim.status = "approved"
    claim.decided_by_id, claim.decided_at = actor_id, utcnow()
    moment = datetime.combine(claim.occurred_on, time(12), tzinfo=UTC)
    shares = claim.shares or [ClaimShare(person_id=claim.person_id, percent=100)]
    facts = {"sale": {"kind": "sale"}, "order": {"kind": "order"}}
    entries = []
    if claim.kind in facts:
        for line in claim.lines:
            for share in shares:
                entries += record_activity(
                    session,
                    Activity(
                        kind=claim.kind,
                        occurred_at=moment,
                        partner_id=claim.partner_id,
                        person_id=share.person_id,
                        source_key=f"claim:{claim.id}:{line.line_no}:{share.person_id}",
                        sku=line.sku,
                        quantity=line.quantity,
                        share_percent=share.percent,
                        claim_id=claim.id,
                    ),
                    return_window=return_window,
                )
    else:
        entries += record_activity(
            session,
            Activity(
                kind=claim.kind,
                occurred_at=moment,
                partner_id=claim.partner_id,
                person_id=claim.person_id,
                # A referred company pays once, whoever claims it: the key names the company.
                source_key=f"referral:{claim.referred_partner_id}"
                if claim.kind == "referral"
                else f"claim:{claim.id}",
                serial=claim.serial,
                amount=claim.amount,
                due_on=claim.due_on,
                paid_on=claim.occurred_on if claim.kind == "payment" else None,
                claim_id=claim.id,
            ),
        )
    session.flush()
    claim_decided.send(None, session=session, claim=claim, entries=entries, actor_id=actor_id)


def reject_claim(session: Session, claim: Claim, *, actor_id: int, reason: str) -> None:
    reason = " ".join((reason or "").split())
    if claim.status != "pending":
        raise InvalidClaim({"status": _l("Only a pending claim can be rejected.")})
    if not reason:
        raise InvalidClaim({"reason": _l("Say why: the claimant sees the reason.")})
    claim.status = "rejected"
    claim.rejection_reason = reason
    claim.decided_by_id, claim.decided_at = actor_id, utcnow()
    session.flush()
    claim_decided.send(None, session=session, claim=claim, entries=[], actor_id=actor_id)


def return_claim(session: Session, claim: Claim, *, actor_id: int | None) -> int:
    """A returned or cancelled sale: reverse what it earned; returns the points taken back."""
    if claim.status != "approved":
        raise InvalidClaim({"status": _l("Only an approved claim can be returned.")})
    earned = session.scalars(
        select(LedgerEntry)
        .join(Activity, Activity.id == LedgerEntry.activity_id)
        .where(Activity.claim_id == claim.id, LedgerEntry.kind == "earn", LedgerEntry.points > 0)
        .order_by(LedgerEntry.id)
    ).all()
    taken = 0
    for entry in earned:
        released = session.scalar(
            select(LedgerEntry.id).where(
                LedgerEntry.kind == "release", LedgerEntry.refers_to_id == entry.id
            )
        )
        bucket = "available" if entry.bucket == "available" or released else "pending"
        pending, available = balance_of(session, entry.account_key)
        points = min(entry.points, available if bucket == "available" else pending)
        if points <= 0:
            continue
        post(
            session,
            f"return:{entry.id}",
            [
                Line(
                    account=entry.account_key,
                    points=-points,
                    bucket=bucket,
                    kind="reverse",
                    refers_to_id=entry.id,
                    program_id=entry.program_id,
                    partner_id=entry.partner_id,
                    person_id=entry.person_id,
                    to_pool=entry.to_pool,
                    budget_points=-points,
                    activity_id=entry.activity_id,
                    scheme_id=entry.scheme_id,
                    rule_id=entry.rule_id,
                    rule_kind=entry.rule_kind,
                    month=entry.month,
                    memo=f"claim {claim.id} returned",
                    reason={"returned": True, "unrecovered": entry.points - points},
                )
            ],
        )
        taken += points
    claim.status = "returned"
    claim.decided_by_id, claim.decided_at = actor_id, utcnow()
    session.flush()
    return taken
