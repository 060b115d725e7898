"""The channel manager's side of programs: design, offer, launch, simulate, audit.

The scheme editor (`channel.scheme_views`) and the wizard's steps and confirmations
(`channel.wizard_views`) add their pages to the same blueprint.
"""

from datetime import datetime, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from channel import (  # noqa: F401  (add their pages to `bp`)
    scheme_views,
    wizard_views,
)
from channel.approvals import decisions_of_partners, targeted_roles
from channel.audit import names_for, program_trail
from channel.audit import record as record_audit
from channel.models import AuditAction
from channel.partners import active_partners, partners_by_id
from channel.program_blueprint import bp, editor_zone, next_step_after_terms
from channel.program_forms import LeaderboardForm, ProgramEditorForm, day_start
from channel.programs import (
    all_programs,
    save_program,
    targeted_partners,
)
from channel.simulation import simulate
from channel.tiers import tiers_by_rank
from core.config import LANGUAGES
from core.db import get_session
from core.views import attempt
from roles.access import requires
from roles.forms import ROLE_LABELS
from roles.permissions import Permission

CURRENCIES = ("EUR", "PLN", "ILS", "IRR", "USD", "GBP", "RUB", "SEK", "NOK", "DKK", "CZK")

#: Simulations look back over years of data; outside these, the default period is used.
SIMULATION_YEARS = (1900, 2999)


@bp.route("/")
@requires(Permission.MANAGE_PROGRAMS)
def program_list():
    return render_template("channel/program_list.html", programs=all_programs(get_session()))


def _program_form(program=None) -> ProgramEditorForm:
    db = get_session()
    return ProgramEditorForm(
        partners=active_partners(db), tiers=tiers_by_rank(db), zone=editor_zone(), program=program
    )


def _save_program(form: ProgramEditorForm, existing=None):
    """The program saved as the form says, or None (the problems shown at its fields)."""
    saved = attempt(
        lambda db: save_program(db, form.details(), actor_id=current_user.id, existing=existing),
        form=form,
    )
    return saved.result


def _render_program_form(form, program):
    status = 400 if form.is_submitted() else 200
    return render_template(
        "channel/program_form.html",
        form=form,
        program=program,
        currencies=CURRENCIES,
        languages=LANGUAGES,
    ), status


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_PROGRAMS)
def program_new():
    form = _program_form()
    if form.validate_on_submit():
        program = _save_program(form)
        if program is not None:
            flash(_("The program “%(name)s” was created as a draft.", name=program.name), "success")
            return redirect(url_for("programs.program_schemes", program_id=program.id))
    return _render_program_form(form, None)


@bp.route("/<int:program_id>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_PROGRAMS)
def program_edit(program):
    form = _program_form(program)
    if form.validate_on_submit():
        version = program.version
        if _save_program(form, existing=program) is not None:
            if program.version != version:
                flash(
                    _(
                        "Saved as version %(version)s: partners that approved must approve the change.",
                        version=program.version,
                    ),
                    "warning",
                )
            else:
                flash(_("Saved."), "success")
            return redirect(next_step_after_terms(program, request.args.get("step")))
    return _render_program_form(form, program)


@bp.route("/<int:program_id>")
@requires(Permission.MANAGE_PROGRAMS)
def program_detail(program):
    db = get_session()
    partners = targeted_partners(db, program)
    decisions = decisions_of_partners(db, program, partners)
    live = [s for s in program.schemes if s.live_in(program.version)]
    return render_template(
        "channel/program_detail.html",
        program=program,
        schemes=live,
        partners=partners,
        decisions=decisions,
        roles=sorted(targeted_roles(program, program.version)),
        role_labels=ROLE_LABELS,
    )


@bp.route("/<int:program_id>/leaderboard", methods=["POST"])
@requires(Permission.MANAGE_PROGRAMS)
def program_leaderboard(program):
    """Show staff, or stop showing, where they stand among peers in their role."""
    form = LeaderboardForm()
    shown = form.shown

    def change(db):
        record_audit(
            db,
            program=program,
            actor_id=current_user.id,
            action=AuditAction.CHANGED,
            field="show_leaderboard",
            previous=program.show_leaderboard,
            new=shown,
        )
        program.show_leaderboard = shown

    done = _("Staff now see where they stand.") if shown else _("The leaderboard is hidden.")
    attempt(change, done=done, form=form)
    return redirect(url_for("programs.program_detail", program_id=program.id))


@bp.route("/<int:program_id>/audit")
@requires(Permission.MANAGE_PROGRAMS)
def program_audit(program):
    db = get_session()
    entries = program_trail(db, program)
    return render_template(
        "channel/program_audit.html",
        program=program,
        entries=entries,
        names=names_for(db, program, entries),
        partners=partners_by_id(db),
    )


def _simulation_period(program, zone) -> tuple[datetime, datetime]:
    """The period of the query (`since`, `until`: days), else one as long as the program
    just before it starts (or now)."""
    length = program.ends_at - program.starts_at
    default_until = min(program.starts_at, datetime.now(program.starts_at.tzinfo))
    try:
        first, last = (datetime.fromisoformat(request.args[k]).date() for k in ("since", "until"))
        low, high = SIMULATION_YEARS
        if not (low <= first.year <= high and low <= last.year <= high):
            raise ValueError("a period far outside any data")  # and near date's own limits
        since, until = day_start(first, zone), day_start(last, zone) + timedelta(days=1)
    except (KeyError, ValueError):
        since, until = default_until - length, default_until
    if until <= since:
        flash(_("The period must end after it starts."), "error")
        since, until = default_until - length, default_until
    return since, until


@bp.route("/<int:program_id>/simulate")
@requires(Permission.MANAGE_PROGRAMS)
def program_simulate(program):
    zone = editor_zone()
    since, until = _simulation_period(program, zone)
    projection = simulate(get_session(), program, since, until)
    return render_template(
        "channel/program_simulation.html",
        program=program,
        projection=projection,
        since=since.astimezone(zone).date(),
        last_day=(until.astimezone(zone) - timedelta(days=1)).date(),
        role_labels=ROLE_LABELS,
    )
