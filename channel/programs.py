"""Designing programs: terms, translations, targets, and the move from draft to closed.

Every change to a program that partners have already been offered bumps its version,
snapshots the terms, and is written to the audit log with the value it replaced.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from babel.numbers import list_currencies
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from channel import audit
from channel.models import (
    AuditAction,
    Enrollment,
    Program,
    ProgramStatus,
    ProgramTarget,
    ProgramText,
    ProgramVersion,
    SerialCheck,
)
from channel.partner_models import PartnerOrganization, PartnerStatus, Tier
from channel.signals import program_offered, welcome_due
from core.config import LANGUAGES
from core.db import utcnow
from core.errors import InvalidInput

#: Budgets and caps in points: far above any real one, below what the columns hold.
MAX_POINTS = 1_000_000_000
#: What one point may be worth: far above any real value, within Numeric(14, 4).
MAX_POINT_VALUE = Decimal(1_000_000)
#: The years a program may run in; near date's own limits a day cannot become UTC.
YEARS = (1900, 2999)
TERM_FIELDS = (
    "starts_at",
    "ends_at",
    "currency",
    "point_value",
    "budget_points",
    "cap_per_person_month",
    "cap_per_partner",
)


#: Which of its targets are offered it, by their tier: like the targets, a change is audited
#: and makes no new version (it changes who is offered the deal, not the deal).
TIER_FIELDS = ("min_tier_id", "tier_only_until")


class InvalidProgram(InvalidInput):
    """A program's details, or a step in its life, are not valid."""


@dataclass
class ProgramDetails:
    name: str
    starts_at: datetime | None
    ends_at: datetime | None
    currency: str
    point_value: str | Decimal
    description: str = ""
    budget_points: int | None = None
    cap_per_person_month: int | None = None
    cap_per_partner: int | None = None
    #: What an install on a serial number never shipped gets (`SerialCheck`).
    serial_check: str = SerialCheck.REVIEW
    #: language -> (name, description)
    texts: dict[str, tuple[str, str]] = field(default_factory=dict)
    partner_ids: list[int] = field(default_factory=list)
    tier_ids: list[int] = field(default_factory=list)
    #: Offered only to the targeted partners at this tier or above (None: to all of them)…
    min_tier_id: int | None = None
    #: …until this moment (early access), or for good (None).
    tier_only_until: datetime | None = None


def is_offered(program: Program) -> bool:
    return program.status != ProgramStatus.DRAFT


def terms_snapshot(program: Program) -> dict:
    return {name: audit.json_safe(getattr(program, name)) for name in TERM_FIELDS}


def _check(session: Session, details: ProgramDetails, existing: Program | None) -> dict:
    errors: dict[str, str] = {}
    clean: dict = {}
    clean["name"] = " ".join((details.name or "").split())
    if not clean["name"]:
        errors["name"] = _l("Give the program a name.")
    clean["description"] = (details.description or "").strip()
    if details.starts_at is None:
        errors["starts_at"] = _l("Give the first day.")
    if details.ends_at is None:
        errors["ends_at"] = _l("Give the last day.")
    elif details.starts_at is not None and details.ends_at <= details.starts_at:
        errors["ends_at"] = _l("The program must end after it starts.")
    for name in ("starts_at", "ends_at"):
        day = getattr(details, name)
        if day is not None and not YEARS[0] <= day.year <= YEARS[1]:
            errors[name] = _l(
                "Give a day between the years %(first)s and %(last)s.",
                first=YEARS[0],
                last=YEARS[1],
            )
    clean["starts_at"], clean["ends_at"] = details.starts_at, details.ends_at
    currency = (details.currency or "").strip().upper()
    if currency not in list_currencies():
        errors["currency"] = _l("Choose a currency.")
    clean["currency"] = currency
    try:
        point_value = Decimal(str(details.point_value).strip().replace(",", "."))
        if not point_value.is_finite() or point_value <= 0:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["point_value"] = _l("A point must be worth more than zero.")
        point_value = None
    if point_value is not None and point_value > MAX_POINT_VALUE:
        errors["point_value"] = _l("Must be at most %(max)s.", max=MAX_POINT_VALUE)
        point_value = None
    clean["point_value"] = point_value
    for name in ("budget_points", "cap_per_person_month", "cap_per_partner"):
        value = getattr(details, name)
        if value is not None and value <= 0:
            errors[name] = _l("Must be more than zero, or empty for no limit.")
        elif value is not None and value > MAX_POINTS:
            errors[name] = _l("Must be at most %(max)s.", max=MAX_POINTS)
        clean[name] = value
    if details.serial_check not in list(SerialCheck):
        errors["serial_check"] = _l("Choose how serial numbers are checked.")
    clean["serial_check"] = details.serial_check
    texts = {}
    for language, (name, description) in details.texts.items():
        if language not in LANGUAGES:
            errors["texts"] = _l("Unknown language “%(language)s”.", language=language)
        elif (name or "").strip():
            texts[language] = (name.strip(), (description or "").strip())
    clean["texts"] = texts
    partner_ids = set(details.partner_ids)
    found = set(
        session.scalars(
            select(PartnerOrganization.id).where(PartnerOrganization.id.in_(partner_ids))
        )
    )
    tier_ids = set(details.tier_ids)
    found_tiers = set(session.scalars(select(Tier.id).where(Tier.id.in_(tier_ids))))
    if partner_ids - found or tier_ids - found_tiers:
        errors["targets"] = _l("Choose partners and tiers from the lists.")
    clean["partner_ids"], clean["tier_ids"] = partner_ids, tier_ids
    clean["min_tier_id"] = details.min_tier_id
    if details.min_tier_id is not None and session.get(Tier, details.min_tier_id) is None:
        errors["min_tier_id"] = _l("Choose a tier from the list.")
    clean["tier_only_until"] = details.tier_only_until if details.min_tier_id else None
    if details.tier_only_until is not None:
        if details.min_tier_id is None:
            errors["tier_only_until"] = _l("Early access needs the tier that has it.")
        elif not YEARS[0] <= details.tier_only_until.year <= YEARS[1]:
            errors["tier_only_until"] = _l(
                "Give a day between the years %(first)s and %(last)s.",
                first=YEARS[0],
                last=YEARS[1],
            )
    if errors:
        raise InvalidProgram(errors)
    return clean


def save_program(
    session: Session, details: ProgramDetails, *, actor_id: int, existing: Program | None = None
) -> Program:
    """Create or change a program; changes to an offered program make a new version."""
    clean = _check(session, details, existing)
    program = existing or Program(status=ProgramStatus.DRAFT, version=1)
    changes = {}
    for name in ("name", "description", "serial_check", *TIER_FIELDS, *TERM_FIELDS):
        before = getattr(program, name, None) if existing else None
        if existing is None or before != clean[name]:
            changes[name] = (before, clean[name])
            setattr(program, name, clean[name])
    _set_texts(program, clean["texts"], changes)
    _set_targets(program, clean["partner_ids"], clean["tier_ids"], changes)
    if existing is None:
        session.add(program)
        session.flush()
        audit.record(session, program=program, actor_id=actor_id, action=AuditAction.CREATED)
        return program
    if is_offered(program):
        # Terms change what staff earn: partners approve them again. Names, texts and the
        # list of partners offered do not change anyone's deal: audited only.
        material = {k: v for k, v in changes.items() if k in TERM_FIELDS}
        if material:
            _new_version(session, program, actor_id, material)
        for name, (before, after) in changes.items():
            if name not in material:
                audit.record(
                    session,
                    program=program,
                    actor_id=actor_id,
                    action=AuditAction.EDITED,
                    field=name,
                    previous=before,
                    new=after,
                )
    session.flush()
    return program


def _set_texts(program: Program, texts: dict, changes: dict) -> None:
    current = {t.language: (t.name, t.description) for t in program.texts}
    if current == texts:
        return
    changes["texts"] = (current, texts)
    kept = []
    for text in program.texts:
        if text.language in texts:
            text.name, text.description = texts[text.language]
            kept.append(text)
    for language in texts.keys() - {t.language for t in kept}:
        kept.append(
            ProgramText(language=language, name=texts[language][0], description=texts[language][1])
        )
    program.texts = kept


def _set_targets(program: Program, partner_ids: set, tier_ids: set, changes: dict) -> None:
    current_partners = {t.partner_id for t in program.targets if t.partner_id}
    current_tiers = {t.tier_id for t in program.targets if t.tier_id}
    if (current_partners, current_tiers) == (partner_ids, tier_ids):
        return
    changes["targets"] = (
        {"partners": current_partners, "tiers": current_tiers},
        {"partners": partner_ids, "tiers": tier_ids},
    )
    program.targets = [
        t for t in program.targets if t.partner_id in partner_ids or t.tier_id in tier_ids
    ]
    program.targets += [ProgramTarget(partner_id=p) for p in partner_ids - current_partners]
    program.targets += [ProgramTarget(tier_id=t) for t in tier_ids - current_tiers]


def _new_version(session: Session, program: Program, actor_id: int, changes: dict) -> None:
    """Record an offered program's change as a new version partners must approve."""
    program.version += 1
    session.add(
        ProgramVersion(
            program_id=program.id, version=program.version, terms=terms_snapshot(program)
        )
    )
    for name, (before, after) in changes.items():
        audit.record(
            session,
            program=program,
            actor_id=actor_id,
            action=AuditAction.CHANGED,
            field=name,
            previous=before,
            new=after,
        )


def bump_version(
    session: Session, program: Program, actor_id: int, what: str, before, after
) -> None:
    """A change to the program's schemes: a new version when partners were already offered it."""
    if is_offered(program):
        _new_version(session, program, actor_id, {what: (before, after)})


def targeted_partners(session: Session, program: Program) -> list[PartnerOrganization]:
    partner_ids = {t.partner_id for t in program.targets if t.partner_id}
    tier_ids = {t.tier_id for t in program.targets if t.tier_id}
    stmt = select(PartnerOrganization).where(
        PartnerOrganization.id.in_(partner_ids) | PartnerOrganization.tier_id.in_(tier_ids),
        PartnerOrganization.status == PartnerStatus.ACTIVE,
    )
    if program.min_tier is not None:
        # A program for a tier and above: as `approvals.programs_for_partner` decides.
        now = utcnow()
        if program.tier_only_until is None or now < program.tier_only_until:
            stmt = stmt.where(
                PartnerOrganization.tier_id.in_(
                    select(Tier.id).where(Tier.rank >= program.min_tier.rank)
                )
            )
    return list(session.scalars(stmt.order_by(PartnerOrganization.name)))


def offer_program(session: Session, program: Program, *, actor_id: int) -> None:
    """Draft → offered: partner managers can now decide; nothing reaches their staff yet."""
    errors = {}
    if program.status != ProgramStatus.DRAFT:
        errors["status"] = _l("Only a draft can be offered.")
    live = [s for s in program.schemes if s.live_in(program.version)]
    if not any(s.rules for s in live):
        errors["schemes"] = _l("Add at least one scheme with a rule before offering.")
    if not program.targets:
        errors["targets"] = _l("Choose the partners or tiers to offer it to.")
    if errors:
        raise InvalidProgram(errors)
    program.status = ProgramStatus.OFFERED
    session.add(
        ProgramVersion(
            program_id=program.id, version=program.version, terms=terms_snapshot(program)
        )
    )
    audit.record(
        session,
        program=program,
        actor_id=actor_id,
        action=AuditAction.OFFERED,
        previous=ProgramStatus.DRAFT,
        new=ProgramStatus.OFFERED,
    )
    session.flush()
    program_offered.send(
        None, session=session, program=program, partners=targeted_partners(session, program)
    )


#: Enrolled people welcomed (enrolment activity, welcome bonus, "you're in" message) within
#: the launch itself; the rest follow in batches of this size through `flask programs
#: welcome`, run from cron, so launching stays quick however many people take part.
WELCOME_BATCH = 200


def enrolled_batches(session: Session, program: Program, size: int | None = None):
    """The ids of the people currently enrolled in `program`, in batches of `size`
    (WELCOME_BATCH unless given)."""
    size = size or WELCOME_BATCH
    ids = list(
        session.scalars(
            select(Enrollment.person_id)
            .where(Enrollment.program_id == program.id, Enrollment.current)
            .order_by(Enrollment.person_id)
        )
    )
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def welcome_enrolled(session: Session, program: Program, person_ids: list[int]) -> None:
    """Welcome these enrolled people to the live `program`, each once however often asked.

    The program row is locked first, so two runs at once (a slow cron run and the next)
    take turns, and the second finds the first's welcomes done instead of colliding."""
    if person_ids:
        session.execute(select(Program.id).where(Program.id == program.id).with_for_update())
        welcome_due.send(None, session=session, program=program, person_ids=person_ids)


def launch_program(session: Session, program: Program, *, actor_id: int) -> None:
    """Offered → active: staff of partners that approved start earning. The first
    WELCOME_BATCH enrolled people are welcomed at once, the others by `flask programs
    welcome`."""
    if program.status != ProgramStatus.OFFERED:
        raise InvalidProgram({"status": _l("Only an offered program can be launched.")})
    program.status = ProgramStatus.ACTIVE
    audit.record(
        session,
        program=program,
        actor_id=actor_id,
        action=AuditAction.LAUNCHED,
        previous=ProgramStatus.OFFERED,
        new=ProgramStatus.ACTIVE,
    )
    session.flush()
    welcome_enrolled(session, program, next(enrolled_batches(session, program), []))


def close_program(session: Session, program: Program, *, actor_id: int) -> None:
    if program.status not in ProgramStatus.open_for_decisions():
        raise InvalidProgram({"status": _l("Only an offered or active program can be closed.")})
    previous = program.status
    program.status = ProgramStatus.CLOSED
    audit.record(
        session,
        program=program,
        actor_id=actor_id,
        action=AuditAction.CLOSED,
        previous=previous,
        new=ProgramStatus.CLOSED,
    )
    session.flush()


def terms_at(session: Session, program: Program, version: int) -> dict:
    """Program-level terms as they stood at `version` (the current ones for a draft)."""
    snapshot = session.scalar(
        select(ProgramVersion.terms).where(
            ProgramVersion.program_id == program.id, ProgramVersion.version == version
        )
    )
    return _terms_from(program, snapshot)


def terms_at_versions(session: Session, versions) -> dict[tuple[int, int], dict]:
    """`terms_at` of each (program, version) in `versions`, by (program id, version), read in
    one statement."""
    versions = list(versions)
    if not versions:
        return {}
    wanted = {(program.id, version) for program, version in versions}
    snapshots = {
        (program_id, version): terms
        for program_id, version, terms in session.execute(
            select(ProgramVersion.program_id, ProgramVersion.version, ProgramVersion.terms).where(
                ProgramVersion.program_id.in_(sorted({pid for pid, _ in wanted}))
            )
        )
        if (program_id, version) in wanted
    }
    return {
        (program.id, version): _terms_from(program, snapshots.get((program.id, version)))
        for program, version in versions
    }


def _terms_from(program: Program, snapshot: dict | None) -> dict:
    if snapshot is None:
        return {name: getattr(program, name) for name in TERM_FIELDS}
    terms = dict(snapshot)
    terms["starts_at"] = datetime.fromisoformat(terms["starts_at"])
    terms["ends_at"] = datetime.fromisoformat(terms["ends_at"])
    terms["point_value"] = Decimal(terms["point_value"])
    return terms


def all_programs(session: Session) -> list[Program]:
    """Every program, the latest to start first."""
    return list(
        session.scalars(select(Program).order_by(Program.starts_at.desc(), Program.id.desc()))
    )
