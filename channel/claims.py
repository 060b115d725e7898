"""Claims: what a person says they sold, installed, ordered or paid, checked before it earns.

A claim is checked by every fraud rule first; a clean claim is approved at once and becomes
activities (one per line and per person sharing the sale), a flagged one waits in the
review queue with its reasons. A rejection always carries its reason. A returned sale is
reversed in the ledger, also after its points became available (as far as they are left).
The tables are in `channel.claim_models`, the rules in `channel.fraud`.

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
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from channel.claim_models import (
    Claim,
    ClaimKind,
    ClaimLine,
    ClaimPhoto,
    ClaimShare,
    ClaimStatus,
)
from channel.claim_reading import (
    TEXT_LENGTHS,
    line_errors,
    read_invoice,
    read_serial,
    too_long,
)
from channel.earning import earning_programs, record_activity
from channel.fraud import claim_lock_keys, flags_of
from channel.ledger import Activity, Bucket, EntryKind, LedgerEntry
from channel.partner_models import PartnerOrganization, PartnerStatus
from channel.postings import Line, balance_of, post
from channel.purchases import normal_serial
from channel.serial_checks import ClaimFacts, mark_installed, refused_serial
from channel.signals import claim_decided
from core.db import lock_keys, utcnow
from core.errors import InvalidInput
from core.zones import noon_utc
from roles.models import Person


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
    #: (stored name, MIME type) of each proof already checked and saved by `channel.uploads`.
    photos: list[tuple[str, str]] = field(default_factory=list)
    referred_partner_id: int | None = None


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
    partner = session.get(PartnerOrganization, person.partner_id) if person.partner_id else None
    # Read once for the checks before saving and the rules after, as each first needs it.
    facts = ClaimFacts(session, partner, details.occurred_on)
    errors = _check(session, person, details, today, facts)
    if errors:
        raise InvalidClaim(errors)
    claim = Claim(
        person_id=person.id,
        partner_id=person.partner_id,
        kind=details.kind,
        occurred_on=details.occurred_on,
        invoice_number=(details.invoice_number or "").strip().upper() or None,
        serial=normal_serial(details.serial) or None,
        site=(details.site or "").strip() or None,
        amount=details.amount or Decimal(0),
        due_on=details.due_on,
        referred_partner_id=details.referred_partner_id,
        photos=[
            ClaimPhoto(position=n, name=name, mime_type=mime)
            for n, (name, mime) in enumerate(details.photos, 1)
        ],
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
    claim.flags = flags_of(session, claim, facts)
    session.flush()
    if not claim.flags:
        approve_claim(session, claim, actor_id=None, return_window=return_window, facts=facts)
    return claim


def _check(
    session: Session, person: Person, details: ClaimDetails, today: date, facts: ClaimFacts
) -> dict:
    errors: dict[str, str] = {}
    if person.partner_id is None:
        errors["kind"] = _l("Only partner staff submit claims.")
    if details.kind not in list(ClaimKind):
        errors["kind"] = _l("Choose what you are claiming.")
    if details.occurred_on is None:
        errors["occurred_on"] = _l("Give the date.")
    elif details.occurred_on > today:
        errors["occurred_on"] = _l("The date cannot be in the future.")
    # A sale sent with a photo of its invoice: what was not typed, a reviewer reads on the
    # photo; what was typed is checked all the same.
    invoice_photo = details.kind == ClaimKind.SALE and bool(details.photos)
    if details.kind in (ClaimKind.SALE, ClaimKind.ORDER) and (details.lines or not invoice_photo):
        errors |= line_errors(session, details.lines)
    typed_invoice = (details.invoice_number or "").strip()
    if details.kind == ClaimKind.SALE and not typed_invoice and not invoice_photo:
        errors["invoice_number"] = _l("Give the invoice number.")
    if details.kind == ClaimKind.INSTALL and not (details.serial or "").strip():
        if not details.photos:  # with a photo of the plate, a reviewer reads it
            errors["serial"] = _l("Give the serial number from the plate.")
    elif details.kind == ClaimKind.INSTALL and person.partner_id and details.occurred_on:
        serial = normal_serial(details.serial)
        if (refused := refused_serial(session, facts, serial)) is not None:
            errors["serial"] = refused
    for name in TEXT_LENGTHS:
        errors |= too_long(name, getattr(details, name))
    if details.kind == ClaimKind.REFERRAL:
        referred = session.get(PartnerOrganization, details.referred_partner_id or 0)
        if referred is None:
            errors["referred_partner_id"] = _l("Choose the company you brought in.")
        elif referred.status != PartnerStatus.ACTIVE:
            errors["referred_partner_id"] = _l("A referral earns once the company is active.")
    if details.kind == ClaimKind.PAYMENT and (details.due_on is None or not details.invoice_number):
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
        if details.kind != ClaimKind.SALE:
            errors["shares"] = _l("Only a sale can be shared.")
    return errors


def _lock(session: Session, claim: Claim) -> None:
    """Wait for a decision on `claim` in progress and read the status it left: two reviewers
    deciding at once decide one after the other, and the second sees the first's outcome."""
    session.refresh(claim, ["status"], with_for_update=True)


def approve_claim(
    session: Session,
    claim: Claim,
    *,
    actor_id: int | None,
    return_window=timedelta(days=30),
    serial: str | None = None,
    invoice_number: str | None = None,
    lines: list[tuple[str, int]] | None = None,
    facts: ClaimFacts | None = None,
):
    """Approve: each line (and each person's share of it) becomes an activity that earns.
    An install sent as a photo of its plate alone is approved with the `serial` read on it,
    a sale sent as a photo of its invoice with the `invoice_number` and `lines` read on it.
    `facts`: what the claim's checks read, when it is approved as it is submitted."""
    _lock(session, claim)
    if claim.status != ClaimStatus.PENDING:
        raise InvalidClaim({"status": _l("Only a pending claim can be approved.")})
    errors = {}
    if claim.kind == ClaimKind.INSTALL and not claim.serial:
        errors = read_serial(session, claim, serial)
    elif claim.kind == ClaimKind.SALE and not (claim.invoice_number and claim.lines):
        errors = read_invoice(session, claim, invoice_number, lines or [])
    if errors:
        raise InvalidClaim(errors)
    claim.status = ClaimStatus.APPROVED
    claim.decided_by_id, claim.decided_at = actor_id, utcnow()
    mark_installed(session, claim, facts)
    moment = noon_utc(claim.occurred_on)
    shares = claim.shares or [ClaimShare(person_id=claim.person_id, percent=100)]
    entries = []
    if claim.kind in (ClaimKind.SALE, ClaimKind.ORDER):
        # Every line and share earns under the same programs: read them once for the claim.
        programs = earning_programs(session, session.get(PartnerOrganization, claim.partner_id))
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
                    programs=programs,
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
                if claim.kind == ClaimKind.REFERRAL
                else f"claim:{claim.id}",
                serial=claim.serial,
                amount=claim.amount,
                due_on=claim.due_on,
                paid_on=claim.occurred_on if claim.kind == ClaimKind.PAYMENT else None,
                claim_id=claim.id,
            ),
        )
    session.flush()
    claim_decided.send(None, session=session, claim=claim, entries=entries, actor_id=actor_id)


def reject_claim(session: Session, claim: Claim, *, actor_id: int, reason: str) -> None:
    reason = " ".join((reason or "").split())
    _lock(session, claim)
    if claim.status != ClaimStatus.PENDING:
        raise InvalidClaim({"status": _l("Only a pending claim can be rejected.")})
    if not reason:
        raise InvalidClaim({"reason": _l("Say why: the claimant sees the reason.")})
    claim.status = ClaimStatus.REJECTED
    claim.rejection_reason = reason
    claim.decided_by_id, claim.decided_at = actor_id, utcnow()
    session.flush()
    claim_decided.send(None, session=session, claim=claim, entries=[], actor_id=actor_id)


def return_claim(session: Session, claim: Claim, *, actor_id: int | None) -> int:
    """A returned or cancelled sale: reverse what it earned; returns the points taken back."""
    _lock(session, claim)
    if claim.status != ClaimStatus.APPROVED:
        raise InvalidClaim({"status": _l("Only an approved claim can be returned.")})
    earned = session.scalars(
        select(LedgerEntry)
        .join(Activity, Activity.id == LedgerEntry.activity_id)
        .where(
            Activity.claim_id == claim.id,
            LedgerEntry.kind == EntryKind.EARN,
            LedgerEntry.points > 0,
        )
        .order_by(LedgerEntry.id)
    ).all()
    taken = 0
    for entry in earned:
        released = session.scalar(
            select(LedgerEntry.id).where(
                LedgerEntry.kind == EntryKind.RELEASE, LedgerEntry.refers_to_id == entry.id
            )
        )
        bucket = (
            Bucket.AVAILABLE if entry.bucket == Bucket.AVAILABLE or released else Bucket.PENDING
        )
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
                    kind=EntryKind.REVERSE,
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
    claim.status = ClaimStatus.RETURNED
    claim.decided_by_id, claim.decided_at = actor_id, utcnow()
    session.flush()
    return taken


# ---------------------------------------------------------------- lists of claims


def claims_of_person(session: Session, person_id: int, *, limit: int = 100) -> list[Claim]:
    """A person's own claims, newest first."""
    return session.scalars(
        select(Claim)
        .where(Claim.person_id == person_id)
        .options(selectinload(Claim.lines))
        .order_by(Claim.id.desc())
        .limit(limit)
    ).all()


def claims_to_review(session: Session) -> list[Claim]:
    """The review queue: every pending claim, oldest first."""
    return session.scalars(
        select(Claim)
        .where(Claim.status == ClaimStatus.PENDING)
        .options(selectinload(Claim.lines), selectinload(Claim.person))
        .order_by(Claim.id)
    ).all()


def claims_of_partner(session: Session, partner_id: int, *, limit: int = 200) -> list[Claim]:
    """A partner organization's claims, newest first."""
    return session.scalars(
        select(Claim)
        .where(Claim.partner_id == partner_id)
        .options(selectinload(Claim.lines), selectinload(Claim.person))
        .order_by(Claim.id.desc())
        .limit(limit)
    ).all()
