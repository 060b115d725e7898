"""The program wizard's own pages (schemes per role, the review) and the confirmation that every
act on a program that cannot be undone asks first: offer, launch, close, removing a scheme.

A confirmation works without JavaScript: its GET says what will happen and holds a button; the
act's POST runs only with `confirm=1`, and shows the confirmation otherwise.
"""

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from channel.approvals import decisions_of_partners
from channel.models import DecisionOutcome
from channel.program_blueprint import bp
from channel.programs import close_program, launch_program, offer_program, targeted_partners
from channel.scheme_views import scheme_of
from channel.schemes import retire_scheme
from channel.simulation import program_estimate
from core.db import get_session
from core.views import attempt
from roles.access import requires
from roles.forms import ROLE_LABELS
from roles.permissions import PARTNER_ROLES, ROLE_ORDER, Permission

#: The roles a scheme can be for, in the order people are addressed by them.
SCHEME_ROLES = [role.value for role in ROLE_ORDER if role in PARTNER_ROLES]


def _live_schemes(program):
    return [s for s in program.schemes if s.live_in(program.version)]


def confirmed() -> bool:
    return request.form.get("confirm") == "1"


@bp.route("/<int:program_id>/schemes")
@requires(Permission.MANAGE_PROGRAMS)
def program_schemes(program):
    """The wizard's second step: each role with the schemes that pay it, and a way to add one."""
    schemes = _live_schemes(program)
    by_role = {
        role: [s for s in schemes if not s.company_level and role in s.roles]
        for role in SCHEME_ROLES
    }
    return render_template(
        "channel/program_schemes.html",
        program=program,
        by_role=by_role,
        company=[s for s in schemes if s.company_level],
        role_labels=ROLE_LABELS,
    )


@bp.route("/<int:program_id>/review")
@requires(Permission.MANAGE_PROGRAMS)
def program_review(program):
    """The whole program in plain words, with what it would have paid each role."""
    return _review_page(program, offering=False)


def _review_page(program, *, offering: bool):
    db = get_session()
    projection, estimates = program_estimate(db, program)
    return render_template(
        "channel/program_review.html",
        offering=offering,
        program=program,
        schemes=_live_schemes(program),
        partners=targeted_partners(db, program),
        tiers=[t.tier for t in program.targets if t.tier is not None],
        projection=projection,
        estimates=estimates,
        role_labels=ROLE_LABELS,
    )


def _partners_by_decision(program):
    db = get_session()
    approved, waiting = [], []
    partners = targeted_partners(db, program)
    decisions = decisions_of_partners(db, program, partners)
    for partner in partners:
        decision = decisions[partner.id]
        if decision and decision.outcome == DecisionOutcome.APPROVED:
            approved.append(partner)
        elif decision is None:
            waiting.append(partner)
    return approved, waiting


@bp.route("/<int:program_id>/<any(offer, launch, close):step>", methods=["GET", "POST"])
@requires(Permission.MANAGE_PROGRAMS)
def program_step(program, step):
    if request.method == "POST" and confirmed():
        action = {"offer": offer_program, "launch": launch_program, "close": close_program}[step]
        done = {
            "offer": _(
                "Offered. Partner managers can now decide; nothing reaches their staff before they approve."
            ),
            "launch": _("Launched. Staff of partners that approved are earning."),
            "close": _("Closed."),
        }[step]
        attempt(lambda db: action(db, program, actor_id=current_user.id), done=done)
        return redirect(url_for("programs.program_detail", program_id=program.id))
    if step == "offer":
        return _review_page(program, offering=True)
    approved, waiting = _partners_by_decision(program)
    return render_template(
        "channel/program_confirm.html",
        program=program,
        step=step,
        approved=approved,
        waiting=waiting,
    )


@bp.route("/<int:program_id>/schemes/<int:scheme_id>/retire", methods=["GET", "POST"])
@requires(Permission.MANAGE_PROGRAMS)
def scheme_retire(program, scheme_id):
    scheme = scheme_of(program, scheme_id)
    if request.method == "POST" and confirmed():
        attempt(
            lambda db: retire_scheme(db, program, scheme, actor_id=current_user.id),
            done=_("The scheme was removed."),
        )
        return redirect(url_for("programs.program_detail", program_id=program.id))
    return render_template(
        "channel/program_confirm.html", program=program, step="retire", scheme=scheme
    )
