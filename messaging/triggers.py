"""Trigger messages for domain events: points earned, claims decided, a program to decide on
and a partner's decision on it, people enrolled, a tier reached. Each is written in the
transaction of the change behind it."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.approvals import current_decision, current_decisions, programs_for_partner
from channel.claim_models import ClaimKind, ClaimStatus
from channel.leaderboard import PODIUM, standings_in
from channel.ledger import person_earnings
from channel.models import (
    AuditEntry,
    DecisionOutcome,
    Enrollment,
    Product,
    Program,
    ProgramStatus,
)
from channel.partner_models import PartnerOrganization
from channel.postings import balance_of, balances_of, person_account
from channel.rule_params import EventKind
from channel.tier_benefits import benefits_of
from messaging.compose import ROLE_ORDER, notify, render_each
from messaging.models import MessageChannel, Trigger, TriggerDelivery
from messaging.nudges import (
    Nudge,
    choose_tips,
    enabled_in,
    link,
    send_once,
    send_to_each,
    switched_off,
)
from messaging.policy import usable_channels
from messaging.recipients import recipients
from roles.models import Person, RoleAssignment
from roles.permissions import Role


def _product_group(session: Session, skus) -> int | None:
    skus = [sku for sku in skus if sku]
    if not skus:
        return None
    return session.scalar(select(Product.group_id).where(Product.sku == skus[0]))


def _enrolled_programs(session: Session, person_id: int) -> set[int]:
    return set(
        session.scalars(
            select(Enrollment.program_id)
            .join(Program, Program.id == Enrollment.program_id)
            .where(
                Enrollment.person_id == person_id,
                Enrollment.current,
                Program.status == ProgramStatus.ACTIVE,
            )
        )
    )


def _points_nudges(
    session: Session, earnings, *, occasion: str, skus, skip=frozenset(), people=None
) -> None:
    """Tell each person in `earnings` ({person id: (points, program ids)}) what they earned:
    the same statements for one person or thousands (an import's sellers). `people`: those
    of them already read (`recipients`), if any."""
    earners = {
        person_id: (points, program_ids)
        for person_id, (points, program_ids) in earnings.items()
        if person_id not in skip and points > 0
    }
    off = switched_off(
        session, Trigger.POINTS_EARNED, set().union(*(ids for _, ids in earners.values()))
    )
    earners = {
        person_id: (points, program_ids)
        for person_id, (points, program_ids) in earners.items()
        if not program_ids or program_ids - off
    }
    if not earners:
        return
    if people is None:
        people = recipients(session, earners)
    balances = balances_of(session, [person_account(person_id) for person_id in earners])
    tips = choose_tips(session, people.values(), _product_group(session, skus))
    numbers = {}
    for person_id, (points, _program_ids) in earners.items():
        pending, available = balances[person_account(person_id)]
        numbers[person_id] = {"points": points, "available": available, "pending": pending}
    tipped = [person_id for person_id in earners if tips[person_id]]
    texts = render_each(
        "points_earned",
        MessageChannel.SMS,
        [(people[i], {"tip": tips[i], **numbers[i]}) for i in tipped],
    )
    with_tip = dict(zip(tipped, texts, strict=True))
    nudges = []
    for person_id, (_points, program_ids) in earners.items():
        person = people[person_id]
        tip, sms = tips[person_id], with_tip.get(person_id)
        if sms is not None and sms.segments.segments > 2:
            # e.g. an English tip in a Persian text: the points matter more
            tip, sms = None, None
        nudges.append(
            Nudge(
                person,
                occasion,
                program_id=min(program_ids) if program_ids else None,
                tip=tip,
                context=numbers[person_id],
                sms=sms,
            )
        )
    send_to_each(session, Trigger.POINTS_EARNED, "points_earned", nudges)


def on_points_earned(_sender, *, session, activity, entries) -> None:
    _podium_nudges(session, person_earnings(entries))
    # A claim's points are told once for the whole claim (`on_claim_decided`); an enrolment's
    # welcome bonus comes with the enrolment message.
    if activity.claim_id is not None or activity.kind == EventKind.ENROLMENT:
        return
    _points_nudges(
        session, person_earnings(entries), occasion=f"activity:{activity.id}", skus=[activity.sku]
    )


def on_sales_imported(_sender, *, session, earnings, skus, occasion) -> None:
    """One message a person for a whole sell-out import, however many lines credited them."""
    # Thousands of sellers: loaded once for both kinds of message.
    people = recipients(session, [i for i, (points, _ids) in earnings.items() if points > 0])
    _podium_nudges(session, earnings, people)
    _points_nudges(session, earnings, occasion=occasion, skus=sorted(skus), people=people)


def _podium_nudges(session: Session, earnings, people=None) -> None:
    """Someone whose new points lift them into the top three of their role, in a program
    that shows its leaderboard, hears it once for each place reached. `people`: the earners,
    if already loaded."""
    earners = {
        person_id: program_ids
        for person_id, (points, program_ids) in earnings.items()
        if points > 0 and program_ids
    }
    program_ids = set().union(*earners.values())
    off = switched_off(session, Trigger.LEADERBOARD, program_ids)
    shown = session.scalars(
        select(Program).where(
            Program.id.in_(sorted(program_ids - off)), Program.show_leaderboard.is_(True)
        )
    ).all()
    if not shown:
        return
    if people is None:
        people = recipients(session, earners)
    places = {
        program.id: standings_in(
            session, program, [people[i] for i, ids in earners.items() if program.id in ids]
        )
        for program in shown
    }
    programs = {program.id: program for program in shown}
    nudges = []
    for person_id, ids in earners.items():
        for program_id in sorted(ids):
            place = places.get(program_id, {}).get(person_id)
            if place is None or place.rank > PODIUM or place.of < 2:
                continue
            nudges.append(
                Nudge(
                    people[person_id],
                    f"podium:{program_id}:{place.rank}",
                    program_id=program_id,
                    context={"rank": place.rank, "of": place.of, "program": programs[program_id]},
                )
            )
    send_to_each(session, Trigger.LEADERBOARD, "leaderboard", nudges)


def on_claim_decided(_sender, *, session, claim, entries, actor_id) -> None:
    claimant = claim.person
    earned = person_earnings(entries)
    programs = earned.get(claimant.id, (0, set()))[1] or _enrolled_programs(session, claimant.id)
    told = set()
    # A reviewer decided: the claimant hears the outcome (an instant approval they saw).
    reviewed = claim.status == ClaimStatus.REJECTED or actor_id is not None
    if reviewed and enabled_in(session, Trigger.CLAIM_DECIDED, programs):
        told.add(claimant.id)
        pending, available = balance_of(session, person_account(claimant.id))
        send_once(
            session,
            claimant,
            Trigger.CLAIM_DECIDED,
            "claim_approved" if claim.status == ClaimStatus.APPROVED else "claim_rejected",
            occasion=f"claim:{claim.id}",
            program_id=min(programs) if programs else None,
            claim=claim,
            points=earned.get(claimant.id, (0, set()))[0],
            available=available,
            pending=pending,
            url=link("claims.claim_new", kind=ClaimKind.SALE),
        )
    if claim.status == ClaimStatus.APPROVED:
        _points_nudges(
            session,
            earned,
            occasion=f"claim:{claim.id}",
            skus=[line.sku for line in claim.lines],
            skip=told,
        )


def partner_managers(session: Session, partner_id: int) -> list[Person]:
    return list(
        session.scalars(
            select(Person)
            .join(RoleAssignment, RoleAssignment.person_id == Person.id)
            .where(
                Person.partner_id == partner_id,
                Person.active.is_(True),
                RoleAssignment.role == Role.PARTNER_MANAGER.value,
            )
            .order_by(Person.id)
        )
    )


def _email_and_inapp(session: Session, person) -> list[str]:
    """E-mail (else their first usable channel) and the in-app inbox."""
    usable = usable_channels(session, person)
    email, inapp = MessageChannel.EMAIL, MessageChannel.INAPP
    first = email if email in usable else (usable[0] if usable else None)
    wanted = [first, inapp if inapp in usable else None]
    return [channel for channel in dict.fromkeys(wanted) if channel]


def _asked_at(session: Session, manager_id: int, occasion: str):
    return session.scalar(
        select(TriggerDelivery.at).where(
            TriggerDelivery.trigger == Trigger.APPROVAL_REQUEST,
            TriggerDelivery.person_id == manager_id,
            TriggerDelivery.occasion == occasion,
        )
    )


def request_decision(
    session: Session,
    program: Program,
    partner: PartnerOrganization,
    *,
    remind_if_asked_before: datetime | None = None,
) -> int:
    """Ask the partner's managers to decide on the program's current version, with a link to
    the decision page; or, with `remind_if_asked_before`, remind those asked before then.
    Returns how many were messaged now: nobody is asked, or reminded, twice per version."""
    if not enabled_in(session, Trigger.APPROVAL_REQUEST, [program.id]):
        return 0
    url = link("decisions.program_decision", partner_id=partner.id, program_id=program.id)
    request = f"program:{program.id}:v{program.version}"
    reminder = remind_if_asked_before is not None
    asked = 0
    for manager in partner_managers(session, partner.id):
        if reminder:
            asked_at = _asked_at(session, manager.id, request)
            if asked_at is None or asked_at > remind_if_asked_before:
                continue
        channels = _email_and_inapp(session, manager)
        if not channels:
            continue
        asked += bool(
            send_once(
                session,
                manager,
                Trigger.APPROVAL_REQUEST,
                "approval_reminder" if reminder else "approval_request",
                occasion=f"reminder:{program.id}:v{program.version}" if reminder else request,
                program_id=program.id,
                channels=channels,
                program_name=program.text_in(manager.language)[0],
                partner=partner,
                url=url,
            )
        )
    return asked


def on_program_offered(_sender, *, session, program, partners) -> None:
    for partner in partners:
        request_decision(session, program, partner)


def program_managers(session: Session, program: Program) -> list[Person]:
    """The manufacturer's active channel managers (and admins) who set the program up or
    changed it; when none of them is left, every active channel manager."""
    managers = (
        select(Person.id)
        .join(RoleAssignment, RoleAssignment.person_id == Person.id)
        .where(
            Person.active.is_(True),
            Person.partner_id.is_(None),
            RoleAssignment.role.in_([Role.CHANNEL_MANAGER.value, Role.ADMIN.value]),
        )
    )
    actors = select(AuditEntry.actor_id).where(
        AuditEntry.program_id == program.id, AuditEntry.partner_id.is_(None)
    )
    ids = set(session.scalars(managers.where(Person.id.in_(actors)))) or set(
        session.scalars(managers.where(RoleAssignment.role == Role.CHANNEL_MANAGER.value))
    )
    return list(session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.id)))


def on_program_decided(_sender, *, session, program, partner, decision) -> None:
    """Tell the program's channel managers, by e-mail and in-app, what a partner decided."""
    url = link("programs.program_detail", program_id=program.id)
    kind = (
        "program_approved" if decision.outcome == DecisionOutcome.APPROVED else "program_declined"
    )
    for manager in program_managers(session, program):
        for channel in _email_and_inapp(session, manager):
            notify(
                session,
                manager,
                kind,
                channel=channel,
                program_name=program.text_in(manager.language)[0],
                partner=partner,
                decision=decision,
                url=url,
            )


def rule_for(program: Program, version: int, person) -> object | None:
    """The first rule of the first scheme for the person's main role (then their others)."""
    roles = [role for role in ROLE_ORDER if role in person.roles]
    for role in roles:
        for scheme in program.schemes:
            if scheme.company_level or not scheme.live_in(version) or role not in scheme.roles:
                continue
            for rule in scheme.rules:
                if rule.live_in(version):
                    return rule
    return None


def tell_enrolled(session: Session, program: Program, person) -> None:
    if not enabled_in(session, Trigger.ENROLLED, [program.id]):
        return
    partner = session.get(PartnerOrganization, person.partner_id)
    decision = current_decision(session, program, partner)
    version = decision.approved_version if decision and decision.approved_version else 1
    send_once(
        session,
        person,
        Trigger.ENROLLED,
        "enrolled",
        occasion=f"program:{program.id}",
        program_id=program.id,
        program_name=program.text_in(person.language)[0],
        rule=rule_for(program, version, person),
        currency=program.currency,
    )


def on_welcome_due(_sender, *, session, program, person_ids) -> None:
    """Tell each person newly in the live `program` what they earn there (once)."""
    if program.status != ProgramStatus.ACTIVE or not enabled_in(
        session, Trigger.ENROLLED, [program.id]
    ):
        return
    told = set(
        session.scalars(
            select(TriggerDelivery.person_id).where(
                TriggerDelivery.trigger == Trigger.ENROLLED,
                TriggerDelivery.occasion == f"program:{program.id}",
                TriggerDelivery.person_id.in_(person_ids),
            )
        )
    )
    people = session.scalars(
        select(Person).where(Person.id.in_(set(person_ids) - told)).order_by(Person.id)
    )
    for person in people.all():
        tell_enrolled(session, program, person)


def on_tier_changed(_sender, *, session, partner, change) -> None:
    """A partner moved up: its managers and the staff in a live program hear it once per tier."""
    to, before = change.to_tier, change.from_tier
    if to is None or (before is not None and to.rank <= before.rank):
        return
    live = [
        program
        for program in programs_for_partner(session, partner)
        if program.status == ProgramStatus.ACTIVE
    ]
    decisions = current_decisions(session, live, partner)
    approved = [
        program.id
        for program in live
        if (decision := decisions[program.id]) is not None
        and decision.outcome == DecisionOutcome.APPROVED
    ]
    off = switched_off(session, Trigger.TIER_REACHED, approved)
    programs = [program_id for program_id in approved if program_id not in off]
    if not programs:
        return
    enrolled = session.scalars(
        select(Person)
        .join(Enrollment, Enrollment.person_id == Person.id)
        .where(
            Person.partner_id == partner.id,
            Enrollment.program_id.in_(programs),
            Enrollment.current,
        )
        .order_by(Person.id)
    ).all()
    people = {p.id: p for p in [*partner_managers(session, partner.id), *enrolled]}
    benefits = benefits_of(session, to.id)
    for person in people.values():
        send_once(
            session,
            person,
            Trigger.TIER_REACHED,
            "tier_reached",
            occasion=f"tier:{to.code}",
            program_id=programs[0],
            tier_name=to.name,
            partner=partner,
            benefits=benefits,
        )
