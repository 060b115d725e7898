"""The partner's side of programs: management decides and sees every point paid; staff see theirs."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from channel.approvals import (
    DecisionDetails,
    InvalidDecision,
    current_decision,
    decide,
    programs_for_partner,
    targeted_roles,
)
from channel.forms import DecisionForm
from channel.ledger import Activity, LedgerEntry
from channel.models import AuditEntry, Enrollment, Program
from channel.rule_params import RuleKind
from channel.schemes import RULE_LABELS
from channel.simulation import simulate
from core.db import get_session
from roles.access import requires
from roles.forms import ROLE_LABELS
from roles.models import Person
from roles.permissions import Permission

bp = Blueprint("decisions", __name__)


def _offered_or_404(program: Program, partner) -> None:
    if program not in programs_for_partner(get_session(), partner):
        abort(404)


@bp.route("/partners/<int:partner_id>/programs")
@requires(Permission.VIEW_PARTNER_EARNINGS)
def partner_programs(partner):
    db = get_session()
    programs = programs_for_partner(db, partner)
    decisions = {p.id: current_decision(db, p, partner) for p in programs}
    return render_template(
        "channel/partner_programs.html", partner=partner, programs=programs, decisions=decisions
    )


def _estimate(db, program, partner):
    """Earnings per person and role over the last period as long as the program, from real data."""
    length = program.ends_at - program.starts_at
    until = program.starts_at
    return simulate(db, program, until - length, until, partners=[partner]).partners[0]


@bp.route("/partners/<int:partner_id>/programs/<int:program_id>", methods=["GET", "POST"])
@requires(Permission.VIEW_PARTNER_EARNINGS)
def program_decision(partner, program):
    db = get_session()
    _offered_or_404(program, partner)
    decision = current_decision(db, program, partner)
    form = DecisionForm()
    roles = sorted(targeted_roles(program, program.version))
    staff = db.scalars(
        select(Person)
        .where(Person.partner_id == partner.id, Person.active.is_(True))
        .order_by(Person.full_name)
    ).all()
    form.roles.choices = [(r, ROLE_LABELS[r]) for r in roles]
    form.excluded.choices = [
        (p.id, p.full_name) for p in staff if {r.value for r in p.roles} & set(roles)
    ]
    if not form.is_submitted():
        form.roles.data = decision.roles if decision and decision.roles is not None else roles
        form.excluded.data = sorted(decision.excluded_person_ids) if decision else []
        form.cap_per_person_month.data = decision.cap_per_person_month if decision else None
        form.pay_to_pool.data = decision.pay_to_pool if decision else False
    status = 200
    if form.is_submitted():
        if not current_user.can(Permission.DECIDE_PROGRAMS):
            abort(403)
        status = 400
        if form.validate():
            approve = form.outcome.data == "approve"
            chosen_roles = form.roles.data or []
            details = DecisionDetails(
                approve=approve,
                reason=form.reason.data or "",
                roles=None if set(chosen_roles) == set(roles) else chosen_roles,
                excluded_person_ids=form.excluded.data or [],
                cap_per_person_month=form.cap_per_person_month.data,
                pay_to_pool=form.pay_to_pool.data,
            )
            try:
                decide(db, program, partner, details, actor_id=current_user.id)
            except InvalidDecision as invalid:
                db.rollback()
                for name, message in invalid.errors.items():
                    field = getattr(form, name, None) or form.outcome
                    field.errors = [*field.errors, str(message)]
            else:
                db.commit()
                flash(
                    _("Your decision is recorded.")
                    if approve
                    else _("You declined; the manufacturer sees your reason."),
                    "success",
                )
                return redirect(
                    url_for(
                        "decisions.program_decision", partner_id=partner.id, program_id=program.id
                    )
                )
    history = db.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.program_id == program.id,
            (AuditEntry.partner_id == partner.id) | AuditEntry.partner_id.is_(None),
        )
        .order_by(AuditEntry.id.desc())
    ).all()
    changed_since = [
        e
        for e in history
        if decision
        and decision.approved_version
        and e.action == "changed"
        and e.program_version > decision.approved_version
    ]
    return render_template(
        "channel/program_decision.html",
        partner=partner,
        program=program,
        decision=decision,
        form=form,
        schemes=[s for s in program.schemes if s.live_in(program.version)],
        roles=roles,
        role_labels=ROLE_LABELS,
        estimate=_estimate(db, program, partner),
        history=history,
        changed_since=changed_since,
    ), status


@bp.route("/partners/<int:partner_id>/programs/<int:program_id>/earnings")
@requires(Permission.VIEW_PARTNER_EARNINGS)
def program_earnings(partner, program):
    """Every point the program paid this partner's people: who, when, what for, and why."""
    db = get_session()
    _offered_or_404(program, partner)
    rows = db.execute(
        select(LedgerEntry, Activity, Person)
        .join(Activity, Activity.id == LedgerEntry.activity_id)
        .outerjoin(Person, Person.id == LedgerEntry.person_id)
        .where(LedgerEntry.program_id == program.id, LedgerEntry.partner_id == partner.id)
        .order_by(Activity.occurred_at.desc(), LedgerEntry.id.desc())
    ).all()
    totals: dict = {}
    for entry, _activity, person in rows:
        key = person.full_name if person else _("The company")
        totals[key] = totals.get(key, 0) + entry.points
    return render_template(
        "channel/program_earnings.html",
        partner=partner,
        program=program,
        rows=rows,
        totals=sorted(totals.items(), key=lambda item: -item[1]),
        rule_labels={k.value: v for k, v in RULE_LABELS.items()},
    )


@bp.route("/my/programs")
@requires(Permission.VIEW_OWN_PROGRAMS)
def my_programs():
    """The programs a person is in, with only the rules for their own roles."""
    db = get_session()
    person = current_user
    programs = db.scalars(
        select(Program)
        .join(Enrollment, Enrollment.program_id == Program.id)
        .where(Enrollment.person_id == person.id, Enrollment.ended_at.is_(None))
        .order_by(Program.starts_at.desc())
    ).all()
    own_roles = {r.value for r in person.roles}
    mine = []
    for program in programs:
        decision = current_decision(db, program, person.partner)
        version = (
            decision.approved_version if decision and decision.approved_version else program.version
        )
        allowed = set(decision.roles) if decision and decision.roles is not None else own_roles
        rules = [
            rule
            for scheme in program.schemes
            if scheme.live_in(version)
            and not scheme.company_level
            and {r.value for r in scheme.roles} & own_roles & allowed
            for rule in scheme.rules
            if rule.live_in(version)
        ]
        points = sum(
            db.scalars(
                select(LedgerEntry.points).where(
                    LedgerEntry.program_id == program.id, LedgerEntry.person_id == person.id
                )
            )
        )
        mine.append((program, rules, points, decision))
    return render_template("channel/my_programs.html", mine=mine, rule_kinds=RuleKind)
