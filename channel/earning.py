"""Turning activities into points: the program as each partner approved it, through the engine.

`record_activity` stores an activity once (by its source key) and appends the ledger
entries every applicable program awards for it. Budget and caps are read from the ledger
under a lock on the program row, so concurrent activities cannot overspend a budget: the
rows of all programs that pay for the activity are locked at once, in id order, and their
usage then read in one statement a kind of total, whatever the number of programs.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel import rules as engine
from channel.approvals import approved_live_programs, resync_person
from channel.ledger import Activity, Bucket, EntryKind, LedgerEntry, activity_event, event_usages
from channel.models import DecisionOutcome, Enrollment, Product, Program, ProgramStatus
from channel.partner_models import PartnerOrganization
from channel.postings import Line, person_account, pool_account, post
from channel.programs import terms_at, terms_at_versions
from channel.rule_params import EventKind
from channel.schemes import engine_scheme
from channel.signals import points_earned, welcome_due
from core.db import utcnow
from core.months import month_key
from roles.models import Person
from roles.signals import staff_changed


def engine_terms(session: Session, program: Program, version: int, *, active: bool) -> engine.Terms:
    return _engine_terms(program, version, terms_at(session, program, version), active=active)


def _engine_terms(program: Program, version: int, terms: dict, *, active: bool) -> engine.Terms:
    return engine.Terms(
        program_id=program.id,
        starts_at=terms["starts_at"],
        ends_at=terms["ends_at"],
        point_value=terms["point_value"],
        currency=terms["currency"],
        schemes=tuple(engine_scheme(s, version) for s in program.schemes if s.live_in(version)),
        cap_per_person_month=terms["cap_per_person_month"],
        cap_per_partner=terms["cap_per_partner"],
        budget_points=terms["budget_points"],
        active=active,
    )


def engine_approval(decision, partner: PartnerOrganization) -> engine.Approval | None:
    if decision is None or decision.outcome != DecisionOutcome.APPROVED:
        return None
    return engine.Approval(
        roles=frozenset(decision.roles) if decision.roles is not None else None,
        excluded_person_ids=decision.excluded_person_ids,
        cap_per_person_month=decision.cap_per_person_month,
        pay_to_pool=decision.pay_to_pool,
        tier_code=partner.tier.code if partner.tier else None,
        tier_multiplier=partner.tier.multiplier if partner.tier else Decimal(1),
    )


def engine_participants(
    session: Session, programs: list[Program], person: Person | None
) -> dict[int, engine.Participant | None]:
    """The person as each of `programs` sees them (enrolled in it or not), in one statement."""
    if person is None:
        return dict.fromkeys((program.id for program in programs), None)
    enrolled = set(
        session.scalars(
            select(Enrollment.program_id).where(
                Enrollment.program_id.in_([program.id for program in programs]),
                Enrollment.person_id == person.id,
                Enrollment.current,
            )
        )
    )
    roles = frozenset(r.value for r in person.roles)
    return {
        program.id: engine.Participant(
            person_id=person.id,
            partner_id=person.partner_id,
            roles=roles,
            active=person.active,
            enrolled=program.id in enrolled,
        )
        for program in programs
    }


def _lock(session: Session, programs: list[Program]) -> None:
    # Serialises awards per program: budget and caps are sums over the ledger. In id order,
    # as every path that locks several programs takes them, so two cannot deadlock.
    session.execute(
        select(Program.id)
        .where(Program.id.in_(sorted(program.id for program in programs)))
        .order_by(Program.id)
        .with_for_update()
    )


def product_facts(session: Session, sku: str | None) -> tuple[str | None, int | None]:
    if not sku:
        return None, None
    product = session.scalar(select(Product).where(Product.sku == sku))
    return (product.group.code, product.unit_points) if product else (None, None)


@dataclass(frozen=True)
class EarningProgram:
    """An active program a partner approved, as it pays that partner: the decision (with the
    people it leaves out) and the engine's terms of the version approved."""

    program: Program
    approval: engine.Approval
    terms: engine.Terms


def earning_programs(session: Session, partner: PartnerOrganization) -> list[EarningProgram]:
    """Every active program `partner` approved, newest first, in a fixed number of
    statements however many programs it was offered."""
    approved = approved_live_programs(session, partner)
    versions = terms_at_versions(
        session, [(program, decision.approved_version) for program, decision in approved]
    )
    return [
        EarningProgram(
            program,
            engine_approval(decision, partner),
            _engine_terms(
                program,
                decision.approved_version,
                versions[(program.id, decision.approved_version)],
                active=True,
            ),
        )
        for program, decision in approved
    ]


def record_activity(
    session: Session,
    activity: Activity,
    *,
    return_window: timedelta | None = None,
    programs: list[EarningProgram] | None = None,
) -> list[LedgerEntry]:
    """Store the activity (once) and post what every applicable program awards for it.

    A sale's points stay pending for `return_window` (a returned sale is reversed before
    they become available); everything else is available at once. `programs`: the
    partner's `earning_programs`, when the caller records several of its activities at once.
    """
    existing = session.scalar(select(Activity).where(Activity.source_key == activity.source_key))
    if existing is not None:
        return []
    session.add(activity)
    session.flush()
    partner = session.get(PartnerOrganization, activity.partner_id)
    person = session.get(Person, activity.person_id) if activity.person_id else None
    group, unit_points = product_facts(session, activity.sku)
    event = activity_event(activity, group, unit_points)
    entries = []
    if programs is None:
        programs = earning_programs(session, partner)
    # Only the programs with a rule for this kind of event pay: the others need no lock and
    # no totals. The paying ones are locked, then their usage read, all at once.
    paying = [earning for earning in programs if engine.awards_kind(earning.terms, event.kind)]
    if paying:
        _lock(session, [earning.program for earning in paying])
        usages = event_usages(
            session,
            {
                earning.program.id: (earning.terms.starts_at, earning.terms.ends_at)
                for earning in paying
            },
            event,
            before_activity_id=activity.id,
        )
        participants = engine_participants(session, [earning.program for earning in paying], person)
    for earning in paying:
        program, approval, terms = earning.program, earning.approval, earning.terms
        outcome = engine.evaluate(
            event, terms, approval, participants[program.id], usages[program.id]
        )
        pending_until = None
        if return_window and activity.kind == EventKind.SALE:
            pending_until = activity.occurred_at + return_window
        lines = award_lines(activity, outcome, pending_until=pending_until)
        entries += post(session, f"award:{activity.id}:{program.id}", lines)
    if entries:
        points_earned.send(None, session=session, activity=activity, entries=entries)
    return entries


def award_lines(activity: Activity, outcome, *, pending_until: datetime | None) -> list[Line]:
    """The ledger lines for what the engine awarded: pending until `pending_until`, if given."""
    month = month_key(activity.occurred_at)
    return [
        Line(
            account=pool_account(award.partner_id)
            if award.to_pool or award.person_id is None
            else person_account(award.person_id),
            points=award.points,
            kind=EntryKind.EARN,
            bucket=Bucket.PENDING if pending_until and award.points else Bucket.AVAILABLE,
            available_at=pending_until if award.points else None,
            program_id=award.program_id,
            partner_id=award.partner_id,
            person_id=award.person_id,
            to_pool=award.to_pool or award.person_id is None,
            budget_points=award.budget_cost,
            money=award.money,
            discount_percent=award.discount_percent,
            activity_id=activity.id,
            scheme_id=award.scheme_id,
            rule_id=award.rule_id,
            rule_kind=award.kind.value,
            once_key=award.key,
            reason=award.reason,
            month=month,
        )
        for award in outcome.awards
    ]


def _on_welcome_due(_sender, *, session, program, person_ids) -> None:
    """Each enrolment in a live program is an activity: it pays any welcome bonus (once)."""
    if program.status != ProgramStatus.ACTIVE:
        return
    keys = {person_id: f"enrolment:{program.id}:{person_id}" for person_id in person_ids}
    recorded = set(
        session.scalars(select(Activity.source_key).where(Activity.source_key.in_(keys.values())))
    )
    partners = dict(
        session.execute(select(Person.id, Person.partner_id).where(Person.id.in_(person_ids))).all()
    )
    moment = max(utcnow(), program.starts_at)
    # A batch is mostly one partner's staff: its programs are read once for all of them.
    earning: dict[int, list[EarningProgram]] = {}
    for person_id, key in keys.items():
        if key not in recorded:
            partner_id = partners[person_id]
            if partner_id not in earning:
                partner = session.get(PartnerOrganization, partner_id)
                earning[partner_id] = earning_programs(session, partner)
            record_activity(
                session,
                Activity(
                    kind=EventKind.ENROLMENT,
                    occurred_at=moment,
                    partner_id=partner_id,
                    person_id=person_id,
                    source_key=key,
                ),
                programs=earning[partner_id],
            )


def _on_staff_changed(_sender, *, session, person) -> None:
    resync_person(session, person)


def connect_handlers() -> None:
    welcome_due.connect(_on_welcome_due)
    staff_changed.connect(_on_staff_changed)


def partner_earnings(session: Session, program: Program, partner: PartnerOrganization) -> list:
    """Every ledger line the program paid the partner's people and pool, with its activity and
    person (None for the company), the latest activity first."""
    return session.execute(
        select(LedgerEntry, Activity, Person)
        .join(Activity, Activity.id == LedgerEntry.activity_id)
        .outerjoin(Person, Person.id == LedgerEntry.person_id)
        .where(LedgerEntry.program_id == program.id, LedgerEntry.partner_id == partner.id)
        .order_by(Activity.occurred_at.desc(), LedgerEntry.id.desc())
    ).all()


def points_paid_to(session: Session, program: Program, person: Person) -> int:
    """The points the program has given the person, net of reversals."""
    return sum(
        session.scalars(
            select(LedgerEntry.points).where(
                LedgerEntry.program_id == program.id, LedgerEntry.person_id == person.id
            )
        )
    )
