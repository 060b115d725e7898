"""The partner's side of programs: management decides and sees every point paid; staff see theirs."""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from channel.approvals import (
    active_staff,
    current_decision,
    current_decisions,
    decide,
    enrolled_programs,
    is_offered_to,
    own_rules,
    programs_for_partner,
    targeted_roles,
)
from channel.audit import changes_after, names_for, partner_trail
from channel.earning import partner_earnings, points_paid_to
from channel.program_forms import ProgramDecisionForm
from channel.rule_params import RuleKind
from channel.schemes import RULE_LABELS
from channel.simulation import partner_estimate
from core.db import get_session
from core.views import attempt
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("decisions", __name__)


def _offered_or_404(program, partner) -> None:
    if not is_offered_to(get_session(), program, partner):
        abort(404)


@bp.route("/partners/<int:partner_id>/programs")
@requires(Permission.VIEW_PARTNER_EARNINGS)
def partner_programs(partner):
    db = get_session()
    programs = programs_for_partner(db, partner)
    decisions = current_decisions(db, programs, partner)
    return render_template(
        "channel/partner_programs.html", partner=partner, programs=programs, decisions=decisions
    )


@bp.route("/partners/<int:partner_id>/programs/<int:program_id>", methods=["GET", "POST"])
@requires(Permission.VIEW_PARTNER_EARNINGS)
def program_decision(partner, program):
    """An offered program as its partner's management reads it; those who decide send the form."""
    _offered_or_404(program, partner)
    if request.method == "POST":
        return _decide(partner=partner, program=program)
    return _decision_page(partner, program, _decision_form(partner, program))


@requires(Permission.DECIDE_PROGRAMS)
def _decide(partner, program):
    form = _decision_form(partner, program)
    if form.validate():
        done = (
            _("Your decision is recorded.")
            if form.approves
            else _("You declined; the manufacturer sees your reason.")
        )
        decided = attempt(
            lambda db: decide(db, program, partner, form.details(), actor_id=current_user.id),
            done=done,
            form=form,
        )
        if decided:
            return redirect(
                url_for("decisions.program_decision", partner_id=partner.id, program_id=program.id)
            )
    return _decision_page(partner, program, form, status=400)


def _decision_form(partner, program) -> ProgramDecisionForm:
    db = get_session()
    return ProgramDecisionForm(
        roles=sorted(targeted_roles(program, program.version)),
        staff=active_staff(db, partner),
        decision=current_decision(db, program, partner),
    )


def _decision_page(partner, program, form, status=200):
    db = get_session()
    decision = current_decision(db, program, partner)
    history = partner_trail(db, program, partner.id)
    return render_template(
        "channel/program_decision.html",
        partner=partner,
        program=program,
        decision=decision,
        form=form,
        schemes=[s for s in program.schemes if s.live_in(program.version)],
        roles=form.offered_roles,
        estimate=partner_estimate(db, program, partner),
        history=history,
        names=names_for(db, program, history),
        changed_since=changes_after(history, decision.approved_version if decision else None),
    ), status


@bp.route("/partners/<int:partner_id>/programs/<int:program_id>/earnings")
@requires(Permission.VIEW_PARTNER_EARNINGS)
def program_earnings(partner, program):
    """Every point the program paid this partner's people: who, when, what for, and why."""
    _offered_or_404(program, partner)
    rows = partner_earnings(get_session(), program, partner)
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
    own_roles = {r.value for r in person.roles}
    mine = []
    programs = enrolled_programs(db, person)
    decisions = current_decisions(db, programs, person.partner)
    for program in programs:
        decision = decisions[program.id]
        rules = own_rules(program, decision, own_roles)
        mine.append((program, rules, points_paid_to(db, program, person), decision))
    return render_template("channel/my_programs.html", mine=mine, rule_kinds=RuleKind)
