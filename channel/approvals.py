"""Partner management's decisions on offered programs, and who gets enrolled because of them.

Nothing reaches a partner's staff before its management approves. A decision may narrow
the program: only some roles, named people left out, a lower monthly cap per person, or
earnings paid into a company pool. Every decision and every change of one is audited with
the value it replaced; enrolment follows the decision, and later staff changes, at once.
"""

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from channel import audit
from channel.models import (
    AuditAction,
    DecisionExclusion,
    DecisionOutcome,
    Enrollment,
    Program,
    ProgramDecision,
    ProgramStatus,
    ProgramTarget,
)
from channel.partner_models import PartnerOrganization
from channel.programs import MAX_POINTS, WELCOME_BATCH, targeted_partners, welcome_enrolled
from channel.scheme_models import Scheme
from channel.signals import program_decided
from channel.tier_benefits import tier_condition
from core.db import utcnow
from core.errors import InvalidInput
from core.zones import noon_utc
from roles.models import Person


class InvalidDecision(InvalidInput):
    """A decision cannot be taken as asked; nothing was saved."""


@dataclass
class DecisionDetails:
    approve: bool
    reason: str = ""
    #: Roles allowed to take part; None: every role the program targets.
    roles: list[str] | None = None
    excluded_person_ids: list[int] = field(default_factory=list)
    cap_per_person_month: int | None = None
    pay_to_pool: bool = False


def targeted_roles(program: Program, version: int) -> frozenset[str]:
    """Roles the program's person-level schemes target in `version`."""
    return frozenset(
        role.value
        for scheme in program.schemes
        if scheme.live_in(version) and not scheme.company_level
        for role in scheme.roles
    )


def current_decision(session: Session, program: Program, partner: PartnerOrganization):
    return session.scalar(
        select(ProgramDecision).where(
            ProgramDecision.program_id == program.id, ProgramDecision.partner_id == partner.id
        )
    )


def current_decisions(
    session: Session, programs, partner: PartnerOrganization
) -> dict[int, ProgramDecision | None]:
    """`current_decision` of each of `programs` for `partner`, by program id (None: not
    decided), in one statement, with the people each decision leaves out."""
    return _decisions_by(
        session,
        ProgramDecision.program_id,
        {program.id for program in programs},
        ProgramDecision.partner_id == partner.id,
        selectinload(ProgramDecision.exclusions),
    )


def decisions_of_partners(
    session: Session, program: Program, partners
) -> dict[int, ProgramDecision | None]:
    """`current_decision` of `program` for each of `partners`, by partner id (None: not
    decided), in one statement."""
    return _decisions_by(
        session,
        ProgramDecision.partner_id,
        {partner.id for partner in partners},
        ProgramDecision.program_id == program.id,
    )


def _decisions_by(session: Session, key, ids, condition, *options):
    """The decisions meeting `condition` whose `key` column is one of `ids`, by that id (None:
    not decided), in one statement."""
    found = dict.fromkeys(sorted(ids))
    if found:
        found.update(
            (getattr(decision, key.key), decision)
            for decision in session.scalars(
                select(ProgramDecision).where(key.in_(list(found)), condition).options(*options)
            )
        )
    return found


def decide(
    session: Session,
    program: Program,
    partner: PartnerOrganization,
    details: DecisionDetails,
    *,
    actor_id: int,
) -> ProgramDecision:
    """Approve (with any conditions) or decline the program's current version for `partner`."""
    errors = {}
    if program.status not in ProgramStatus.open_for_decisions():
        errors["program"] = _l("This program is not open for decisions.")
    if partner not in targeted_partners(session, program):
        errors["program"] = _l("This program was not offered to your company.")
    roles = targeted_roles(program, program.version)
    allowed = None
    if details.approve and details.roles is not None:
        allowed = set(details.roles)
        if not allowed:
            errors["roles"] = _l("Choose at least one role, or decline.")
        elif not allowed <= roles:
            errors["roles"] = _l("Choose among the roles the program is for.")
    excluded = set(details.excluded_person_ids)
    if excluded:
        own = set(
            session.scalars(
                select(Person.id).where(Person.id.in_(excluded), Person.partner_id == partner.id)
            )
        )
        if own != excluded:
            errors["excluded"] = _l("You can only leave out your own staff.")
    cap = details.cap_per_person_month
    if cap is not None:
        if cap <= 0:
            errors["cap_per_person_month"] = _l("The cap must be more than zero.")
        elif cap > MAX_POINTS:
            errors["cap_per_person_month"] = _l("Must be at most %(max)s.", max=MAX_POINTS)
        elif program.cap_per_person_month is not None and cap > program.cap_per_person_month:
            errors["cap_per_person_month"] = _l(
                "Your cap can only be lower than the program's (%(cap)s).",
                cap=program.cap_per_person_month,
            )
    reason = (details.reason or "").strip()
    if not details.approve and not reason:
        errors["reason"] = _l("Tell the manufacturer why you decline.")
    if errors:
        raise InvalidDecision(errors)

    decision = current_decision(session, program, partner)
    before = _describe(decision) if decision else None
    if decision is None:
        decision = ProgramDecision(program_id=program.id, partner_id=partner.id)
        session.add(decision)
    decision.outcome = DecisionOutcome.APPROVED if details.approve else DecisionOutcome.DECLINED
    decision.approved_version = program.version if details.approve else None
    decision.reason = reason or None
    decision.roles = sorted(allowed) if allowed is not None else None
    decision.cap_per_person_month = cap if details.approve else None
    decision.pay_to_pool = bool(details.pay_to_pool) and details.approve
    # Rows kept for the people still left out: new rows for them would be inserted before
    # the old ones are deleted, and clash on (decision, person).
    kept = {exclusion.person_id: exclusion for exclusion in decision.exclusions}
    decision.exclusions = (
        [kept.get(pid) or DecisionExclusion(person_id=pid) for pid in sorted(excluded)]
        if details.approve
        else []
    )
    decision.decided_by_id = actor_id
    decision.decided_at = utcnow()
    session.flush()
    after = _describe(decision)
    for name, value in after.items():
        previous = before.get(name) if before else None
        if before is None or previous != value:
            audit.record(
                session,
                program=program,
                actor_id=actor_id,
                partner_id=partner.id,
                action=AuditAction(decision.outcome),
                field=name,
                previous=previous,
                new=value,
            )
    sync_enrollments(session, program, partner, actor_id=actor_id)
    program_decided.send(None, session=session, program=program, partner=partner, decision=decision)
    return decision


def _describe(decision: ProgramDecision) -> dict:
    return {
        "outcome": decision.outcome,
        "approved_version": decision.approved_version,
        "roles": decision.roles,
        "excluded": sorted(decision.excluded_person_ids),
        "cap_per_person_month": decision.cap_per_person_month,
        "pay_to_pool": decision.pay_to_pool,
        "reason": decision.reason,
    }


def eligible_people(session: Session, program: Program, partner_id: int, decision) -> list[Person]:
    """Active staff of the partner whose roles the approved program (and decision) cover."""
    if decision is None or decision.outcome != DecisionOutcome.APPROVED:
        return []
    roles = targeted_roles(program, decision.approved_version)
    if decision.roles is not None:
        roles &= set(decision.roles)
    excluded = decision.excluded_person_ids
    people = session.scalars(
        select(Person).where(Person.partner_id == partner_id, Person.active.is_(True))
    )
    return [p for p in people if p.id not in excluded and {r.value for r in p.roles} & roles]


def sync_enrollments(
    session: Session, program: Program, partner: PartnerOrganization, *, actor_id: int | None
) -> tuple[list[int], list[int]]:
    """Enrol whoever the decision now covers and end it for whoever it no longer does."""
    decision = current_decision(session, program, partner)
    return _sync_enrollments(session, program, partner, decision, actor_id=actor_id)


def _sync_enrollments(
    session: Session,
    program: Program,
    partner: PartnerOrganization,
    decision: ProgramDecision | None,
    *,
    actor_id: int | None,
) -> tuple[list[int], list[int]]:
    """`sync_enrollments` under the partner's current `decision` (None: none), already read."""
    wanted = {p.id for p in eligible_people(session, program, partner.id, decision)}
    if program.status == ProgramStatus.CLOSED:
        wanted = set()
    current = {
        e.person_id: e
        for e in session.scalars(
            select(Enrollment)
            .join(Person, Person.id == Enrollment.person_id)
            .where(Enrollment.program_id == program.id, Person.partner_id == partner.id)
        )
    }
    now = utcnow()
    joined, left = [], []
    for person_id in sorted(wanted):
        enrollment = current.get(person_id)
        if enrollment is None:
            session.add(Enrollment(program_id=program.id, person_id=person_id, enrolled_at=now))
            joined.append(person_id)
        elif enrollment.ended_at is not None:
            enrollment.ended_at = None
            joined.append(person_id)
    for person_id, enrollment in current.items():
        if person_id not in wanted and enrollment.current:
            enrollment.ended_at = now
            left.append(person_id)
    if joined or left:
        audit.record(
            session,
            program=program,
            actor_id=actor_id,
            partner_id=partner.id,
            action=AuditAction.ENROLMENT,
            previous={"left": left},
            new={"joined": joined},
        )
    session.flush()
    if joined and program.status == ProgramStatus.ACTIVE:
        # A large partner's staff are welcomed a batch now, the rest by `programs welcome`.
        welcome_enrolled(session, program, joined[:WELCOME_BATCH])
    return joined, left


def approved_programs_on(session: Session, partner: PartnerOrganization, day) -> list[Program]:
    """The programs `partner` approved that run on `day` (at noon UTC), newest first: the
    programs and their decisions read in one statement."""
    moment = noon_utc(day)
    return list(
        session.scalars(
            _offered_to(partner)
            .join(ProgramDecision, ProgramDecision.program_id == Program.id)
            .where(
                ProgramDecision.partner_id == partner.id,
                ProgramDecision.outcome == DecisionOutcome.APPROVED,
                Program.starts_at <= moment,
                Program.ends_at > moment,
            )
        )
    )


def approved_live_programs(
    session: Session, partner: PartnerOrganization
) -> list[tuple[Program, ProgramDecision]]:
    """The active programs `partner` approved, newest first, each with its decision (and the
    people it leaves out) and its schemes and rules: what earning needs of every program, read
    in a fixed number of statements however many programs the partner was offered."""
    rows = session.execute(
        _offered_to(partner)
        .add_columns(ProgramDecision)
        .join(ProgramDecision, ProgramDecision.program_id == Program.id)
        .where(
            Program.status == ProgramStatus.ACTIVE,
            ProgramDecision.partner_id == partner.id,
            ProgramDecision.outcome == DecisionOutcome.APPROVED,
        )
        .options(
            selectinload(ProgramDecision.exclusions),
            selectinload(Program.schemes).selectinload(Scheme.rules),
            selectinload(Program.schemes).selectinload(Scheme.role_links),
        )
    ).all()
    return [(program, decision) for program, decision in rows]


def _offered_to(partner: PartnerOrganization):
    """Programs offered to this partner (directly or through its tier), newest first; a
    program for a higher tier only once its early access has ended. Each program once: its
    targets are matched in a subquery, so the statement can join more rows per program."""
    standing = partner.tier.rank if partner.tier is not None else None
    targeted = select(ProgramTarget.program_id).where(
        (ProgramTarget.partner_id == partner.id)
        | ((ProgramTarget.tier_id == partner.tier_id) & (ProgramTarget.tier_id.is_not(None)))
    )
    return (
        select(Program)
        .where(
            Program.status != ProgramStatus.DRAFT,
            Program.id.in_(targeted),
            tier_condition(Program.min_tier_id, Program.tier_only_until, standing, utcnow()),
        )
        .order_by(Program.starts_at.desc(), Program.id.desc())
    )


def programs_for_partner(session: Session, partner: PartnerOrganization) -> list[Program]:
    """Programs offered to this partner (directly or through its tier), newest first; a
    program for a higher tier only once its early access has ended."""
    return list(session.scalars(_offered_to(partner)))


def resync_person(session: Session, person: Person) -> None:
    """After a person joined, changed roles or left: bring their enrolments up to date."""
    if person.partner_id is None:
        return
    partner = session.get(PartnerOrganization, person.partner_id)
    programs = [
        program
        for program in programs_for_partner(session, partner)
        if program.status in ProgramStatus.open_for_decisions()
    ]
    if not programs:
        return
    decisions = current_decisions(session, programs, partner)
    # A program the company has not approved enrols no one: it has only enrolments to end,
    # and only where some of its people are enrolled still: both read for all programs at once.
    enrolled = set(
        session.scalars(
            select(Enrollment.program_id)
            .join(Person, Person.id == Enrollment.person_id)
            .where(
                Enrollment.program_id.in_([program.id for program in programs]),
                Person.partner_id == partner.id,
                Enrollment.current,
            )
            .distinct()
        )
    )
    for program in programs:
        decision = decisions[program.id]
        if program.id in enrolled or (
            decision is not None and decision.outcome == DecisionOutcome.APPROVED
        ):
            _sync_enrollments(session, program, partner, decision, actor_id=None)


def is_offered_to(session: Session, program: Program, partner: PartnerOrganization) -> bool:
    return program in programs_for_partner(session, partner)


def active_staff(session: Session, partner: PartnerOrganization) -> list[Person]:
    """The partner's active people by name: those a decision may leave out."""
    return list(
        session.scalars(
            select(Person)
            .where(Person.partner_id == partner.id, Person.active.is_(True))
            .order_by(Person.full_name)
        )
    )


def enrolled_programs(session: Session, person: Person) -> list[Program]:
    """The programs the person is enrolled in now, the latest to start first."""
    return list(
        session.scalars(
            select(Program)
            .join(Enrollment, Enrollment.program_id == Program.id)
            .where(Enrollment.person_id == person.id, Enrollment.current)
            .order_by(Program.starts_at.desc())
        )
    )


def own_rules(program: Program, decision, roles: set[str]) -> list:
    """The rules that pay a person holding `roles`, in the version their management approved
    and within the roles it allowed."""
    version = (
        decision.approved_version if decision and decision.approved_version else program.version
    )
    allowed = set(decision.roles) if decision and decision.roles is not None else roles
    return [
        rule
        for scheme in program.schemes
        if scheme.live_in(version)
        and not scheme.company_level
        and {r.value for r in scheme.roles} & roles & allowed
        for rule in scheme.rules
        if rule.live_in(version)
    ]
