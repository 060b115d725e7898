"""The daily trigger messages: a program still undecided after N days, people inactive for
N days, points expiring within N days. `flask messaging nudges` runs them once a day; each
occasion is recorded, so running it twice sends nothing twice."""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channel.approvals import decisions_of_partners
from channel.claim_models import Claim, ClaimKind
from channel.expiry import expiry_outlook
from channel.ledger import Activity
from channel.models import DecisionOutcome, Enrollment, Program, ProgramStatus
from channel.postings import person_account
from channel.programs import targeted_partners
from channel.rule_params import EventKind
from messaging.models import Trigger
from messaging.nudges import TriggerChoice, link, program_triggers, send_once
from messaging.triggers import request_decision
from roles.models import Person


def run_daily(session: Session, now: datetime, *, lifetime: timedelta) -> dict[str, int]:
    """Every due daily message, program by program as each set its triggers; returns how many
    people were messaged per trigger (the control group is not counted)."""
    counts = {Trigger.APPROVAL_REQUEST: 0, Trigger.INACTIVE: 0, Trigger.EXPIRING: 0}
    programs = session.scalars(
        select(Program)
        .where(Program.status.in_(ProgramStatus.open_for_decisions()))
        .order_by(Program.id)
    ).all()
    for program in programs:
        choices = program_triggers(session, program.id)
        if choices[Trigger.APPROVAL_REQUEST].enabled:
            counts[Trigger.APPROVAL_REQUEST] += remind_undecided(
                session, program, now, choices[Trigger.APPROVAL_REQUEST]
            )
        if program.status != ProgramStatus.ACTIVE:
            continue
        if choices[Trigger.INACTIVE].enabled:
            counts[Trigger.INACTIVE] += remind_inactive(
                session, program, now, choices[Trigger.INACTIVE]
            )
        if choices[Trigger.EXPIRING].enabled:
            counts[Trigger.EXPIRING] += warn_expiring(
                session, program, now, choices[Trigger.EXPIRING], lifetime=lifetime
            )
    return counts


def remind_undecided(session: Session, program: Program, now: datetime, choice) -> int:
    """Partners yet to decide on the current version: ask any manager not asked yet (the
    partner may have been targeted since), remind those asked N days ago or more."""
    sent = 0
    partners = targeted_partners(session, program)
    decisions = decisions_of_partners(session, program, partners)
    for partner in partners:
        decision = decisions[partner.id]
        if decision is not None and (
            decision.outcome == DecisionOutcome.DECLINED
            or decision.approved_version == program.version
        ):
            continue
        sent += request_decision(session, program, partner)
        sent += request_decision(
            session, program, partner, remind_if_asked_before=now - timedelta(days=choice.days)
        )
    return sent


def _enrolled(session: Session, program: Program):
    return session.execute(
        select(Person, Enrollment.enrolled_at)
        .join(Enrollment, Enrollment.person_id == Person.id)
        .where(
            Enrollment.program_id == program.id,
            Enrollment.current,
            Person.active.is_(True),
        )
        .order_by(Person.id)
    ).all()


def _latest(session: Session, column, person_column, person_ids, *where) -> dict[int, datetime]:
    rows = session.execute(
        select(person_column, func.max(column))
        .where(person_column.in_(person_ids), *where)
        .group_by(person_column)
    )
    return {person_id: moment for person_id, moment in rows if moment is not None}


def remind_inactive(
    session: Session, program: Program, now: datetime, choice: TriggerChoice
) -> int:
    """Enrolled people who did nothing (no claim, no activity) for N days: one reminder with a
    next step for their role, once per quiet spell."""
    cutoff = now - timedelta(days=choice.days)
    enrolled = _enrolled(session, program)
    ids = [person.id for person, _ in enrolled]
    activities = _latest(
        session, Activity.created_at, Activity.person_id, ids, Activity.kind != EventKind.ENROLMENT
    )
    claims = _latest(session, Claim.created_at, Claim.person_id, ids)
    sent = 0
    for person, enrolled_at in enrolled:
        moments = [enrolled_at, program.starts_at, activities.get(person.id), claims.get(person.id)]
        last = max(moment for moment in moments if moment is not None)
        if last > cutoff:
            continue
        sent += bool(
            send_once(
                session,
                person,
                Trigger.INACTIVE,
                "inactive",
                occasion=f"since:{last.date().isoformat()}",
                program_id=program.id,
                program_name=program.text_in(person.language)[0],
                url=link("claims.claim_new", kind=ClaimKind.SALE),
            )
        )
    return sent


def warn_expiring(
    session: Session, program: Program, now: datetime, choice: TriggerChoice, *, lifetime
) -> int:
    """Enrolled people with points that expire within N days: warned once per month of the
    oldest of those points (so daily earners are not warned daily)."""
    sent = 0
    for person, _ in _enrolled(session, program):
        points, oldest = expiry_outlook(
            session,
            person_account(person.id),
            by=now + timedelta(days=choice.days),
            lifetime=lifetime,
        )
        if points <= 0:
            continue
        occasion = f"{oldest:%Y-%m}"
        sent += bool(
            send_once(
                session,
                person,
                Trigger.EXPIRING,
                "points_expiring",
                occasion=occasion,
                program_id=program.id,
                points=points,
                expires_on=person.day_at(oldest + lifetime),  # their day, not UTC's
                url=link("rewards.catalog"),
            )
        )
    return sent
