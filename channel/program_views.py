"""The channel manager's side of programs: design, schemes, offer, launch, simulate, audit."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from channel.approvals import current_decision, targeted_roles
from channel.audit import record as record_audit
from channel.forms import ProgramForm, SchemeForm
from channel.models import AuditEntry, PartnerOrganization, ProductGroup, Program, Scheme, Tier
from channel.programs import (
    InvalidProgram,
    ProgramDetails,
    close_program,
    launch_program,
    offer_program,
    save_program,
    targeted_partners,
)
from channel.rule_params import COMPANY_RULES, RuleKind
from channel.rule_text import RULE_FIELDS, STEP_ROWS, describe_rule, params_from_form
from channel.schemes import RULE_LABELS, RuleInput, SchemeDetails, retire_scheme, save_scheme
from channel.simulation import simulate
from core.config import LANGUAGES
from core.db import get_session
from core.errors import InvalidInput
from core.views import attempt
from roles.access import requires
from roles.forms import ROLE_LABELS
from roles.permissions import PARTNER_ROLES, Permission, Role

bp = Blueprint("programs", __name__, url_prefix="/programs")

CURRENCIES = ("EUR", "PLN", "ILS", "IRR", "USD", "GBP", "RUB", "SEK", "NOK", "DKK", "CZK")


def _zone():
    return ZoneInfo(current_user.timezone or "UTC")


#: Simulations look back over years of data; outside these, the default period is used.
SIMULATION_YEARS = (1900, 2999)


def _day_start(day, zone):
    return datetime.combine(day, time.min, tzinfo=zone) if day else None


@bp.app_template_global()
def rule_sentence(rule, currency: str) -> str:
    return describe_rule(rule.kind, rule.params, currency)


@bp.route("/")
@requires(Permission.MANAGE_PROGRAMS)
def program_list():
    programs = (
        get_session()
        .scalars(select(Program).order_by(Program.starts_at.desc(), Program.id.desc()))
        .all()
    )
    return render_template("channel/program_list.html", programs=programs)


def _program_form(db, program=None) -> ProgramForm:
    form = ProgramForm(obj=program)
    partners = db.scalars(
        select(PartnerOrganization)
        .where(PartnerOrganization.status == "active")
        .order_by(PartnerOrganization.name)
    ).all()
    form.partner_ids.choices = [(p.id, p.name) for p in partners]
    form.tier_ids.choices = [(t.id, t.name) for t in db.scalars(select(Tier).order_by(Tier.rank))]
    if program is not None and not form.is_submitted():
        zone = _zone()
        form.starts_on.data = program.starts_at.astimezone(zone).date()
        form.ends_on.data = (program.ends_at.astimezone(zone) - timedelta(days=1)).date()
        form.partner_ids.data = [t.partner_id for t in program.targets if t.partner_id]
        form.tier_ids.data = [t.tier_id for t in program.targets if t.tier_id]
        for text in program.texts:
            getattr(form, f"name_{text.language}").data = text.name
            getattr(form, f"description_{text.language}").data = text.description
        form.point_value.data = str(program.point_value.normalize())
    return form


def _save_program(form: ProgramForm, existing=None):
    db = get_session()
    zone = _zone()
    ends = _day_start(form.ends_on.data, zone)
    if ends and form.ends_on.data < date.max:  # date.max has no day after (and is refused)
        ends += timedelta(days=1)
    details = ProgramDetails(
        name=form.name.data,
        description=form.description.data or "",
        starts_at=_day_start(form.starts_on.data, zone),
        ends_at=ends,
        currency=form.currency.data,
        point_value=form.point_value.data,
        budget_points=form.budget_points.data,
        cap_per_person_month=form.cap_per_person_month.data,
        cap_per_partner=form.cap_per_partner.data,
        texts={
            code: (
                getattr(form, f"name_{code}").data or "",
                getattr(form, f"description_{code}").data or "",
            )
            for code in LANGUAGES
        },
        partner_ids=form.partner_ids.data or [],
        tier_ids=form.tier_ids.data or [],
    )
    try:
        program = save_program(db, details, actor_id=current_user.id, existing=existing)
    except InvalidProgram as invalid:
        db.rollback()
        _form_errors(form, invalid)
        return None
    db.commit()
    return program


def _form_errors(form, invalid: InvalidInput) -> None:
    aliases = {"starts_at": "starts_on", "ends_at": "ends_on", "targets": "partner_ids"}
    for name, message in invalid.errors.items():
        field = getattr(form, aliases.get(name, name), None) or form.name
        field.errors = [*field.errors, str(message)]


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
    form = _program_form(get_session())
    if form.validate_on_submit():
        program = _save_program(form)
        if program is not None:
            flash(_("The program “%(name)s” was created as a draft.", name=program.name), "success")
            return redirect(url_for("programs.program_detail", program_id=program.id))
    return _render_program_form(form, None)


@bp.route("/<int:program_id>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_PROGRAMS)
def program_edit(program):
    form = _program_form(get_session(), program)
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
            return redirect(url_for("programs.program_detail", program_id=program.id))
    return _render_program_form(form, program)


@bp.route("/<int:program_id>")
@requires(Permission.MANAGE_PROGRAMS)
def program_detail(program):
    db = get_session()
    partners = targeted_partners(db, program)
    decisions = {p.id: current_decision(db, program, p) for p in partners}
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
    shown = request.form.get("show") == "1"

    def change(db):
        record_audit(
            db,
            program=program,
            actor_id=current_user.id,
            action="changed",
            field="show_leaderboard",
            previous=program.show_leaderboard,
            new=shown,
        )
        program.show_leaderboard = shown

    done = _("Staff now see where they stand.") if shown else _("The leaderboard is hidden.")
    attempt(change, done=done)
    return redirect(url_for("programs.program_detail", program_id=program.id))


@bp.route("/<int:program_id>/<any(offer, launch, close):step>", methods=["POST"])
@requires(Permission.MANAGE_PROGRAMS)
def program_step(program, step):
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


def _scheme_form(scheme=None) -> SchemeForm:
    form = SchemeForm(obj=scheme)
    form.roles.choices = [(r.value, ROLE_LABELS[r.value]) for r in Role if r in PARTNER_ROLES]
    if scheme is not None and not form.is_submitted():
        form.roles.data = sorted(r.value for r in scheme.roles)
    return form


def _rule_context(program, scheme, kind, values, errors):
    tiers = get_session().scalars(select(Tier).order_by(Tier.rank)).all()
    groups = get_session().scalars(select(ProductGroup).order_by(ProductGroup.code)).all()
    return {
        "program": program,
        "scheme": scheme,
        "kinds": list(RuleKind),
        "kind": kind,
        "company_kinds": COMPANY_RULES,
        "rule_labels": RULE_LABELS,
        "fields": RULE_FIELDS.get(kind, ()),
        "values": values,
        "errors": errors,
        "tiers": tiers,
        "groups": groups,
        "step_rows": range(STEP_ROWS),
    }


def _scheme_of(program, scheme_id) -> Scheme:
    scheme = get_session().get(Scheme, scheme_id)
    if scheme is None or scheme.program_id != program.id or not scheme.live_in(program.version):
        abort(404)
    return scheme


@bp.route("/<int:program_id>/schemes/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_PROGRAMS)
def scheme_new(program):
    return _scheme_editor(program, None)


@bp.route("/<int:program_id>/schemes/<int:scheme_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_PROGRAMS)
def scheme_edit(program, scheme_id):
    return _scheme_editor(program, _scheme_of(program, scheme_id))


def _scheme_editor(program, scheme):
    """One scheme: its roles and name, its rules, and one new rule of the chosen kind."""
    db = get_session()
    form = _scheme_form(scheme)
    kind_value = request.values.get("kind") or ""
    kind = RuleKind(kind_value) if kind_value in RuleKind._value2member_map_ else None
    errors: dict[str, str] = {}
    values = request.form if request.method == "POST" else {}
    if form.validate_on_submit():
        live_rules = [r for r in (scheme.rules if scheme else []) if r.live_in(program.version)]
        drop = set(request.form.getlist("drop", type=int))
        rules = [RuleInput(r.kind, r.params) for r in live_rules if r.id not in drop]
        if kind is not None:
            tier_codes = [t.code for t in db.scalars(select(Tier))]
            rules.append(
                RuleInput(kind.value, params_from_form(kind, request.form, tier_codes, _zone()))
            )
        details = SchemeDetails(
            name=form.name.data,
            roles=form.roles.data or [],
            company_level=form.company_level.data,
            rules=rules,
        )
        try:
            saved = save_scheme(db, program, details, actor_id=current_user.id, existing=scheme)
        except InvalidInput as invalid:
            db.rollback()
            new_index = len(rules) - 1
            for name, message in invalid.errors.items():
                if name.startswith(f"rules.{new_index}.") and kind is not None:
                    errors[name.split(".", 2)[2]] = str(message)
                elif hasattr(form, name):
                    getattr(form, name).errors = [*getattr(form, name).errors, str(message)]
                else:
                    errors["_scheme"] = str(message)
        else:
            db.commit()
            flash(_("The scheme “%(name)s” is saved.", name=saved.name), "success")
            return redirect(
                url_for("programs.scheme_edit", program_id=program.id, scheme_id=saved.id)
            )
    status = 400 if form.is_submitted() else 200
    context = _rule_context(program, scheme, kind, values, errors)
    return render_template("channel/scheme_form.html", form=form, **context), status


@bp.route("/<int:program_id>/schemes/<int:scheme_id>/retire", methods=["POST"])
@requires(Permission.MANAGE_PROGRAMS)
def scheme_retire(program, scheme_id):
    scheme = _scheme_of(program, scheme_id)
    attempt(
        lambda db: retire_scheme(db, program, scheme, actor_id=current_user.id),
        done=_("The scheme was removed."),
    )
    return redirect(url_for("programs.program_detail", program_id=program.id))


@bp.route("/<int:program_id>/audit")
@requires(Permission.MANAGE_PROGRAMS)
def program_audit(program):
    entries = (
        get_session()
        .scalars(
            select(AuditEntry)
            .where(AuditEntry.program_id == program.id)
            .order_by(AuditEntry.id.desc())
        )
        .all()
    )
    partners = {p.id: p for p in get_session().scalars(select(PartnerOrganization))}
    return render_template(
        "channel/program_audit.html", program=program, entries=entries, partners=partners
    )


@bp.route("/<int:program_id>/simulate")
@requires(Permission.MANAGE_PROGRAMS)
def program_simulate(program):
    length = program.ends_at - program.starts_at
    default_until = min(program.starts_at, datetime.now(program.starts_at.tzinfo))
    zone = _zone()
    try:
        first, last = (datetime.fromisoformat(request.args[k]).date() for k in ("since", "until"))
        low, high = SIMULATION_YEARS
        if not (low <= first.year <= high and low <= last.year <= high):
            raise ValueError("a period far outside any data")  # and near date's own limits
        since, until = _day_start(first, zone), _day_start(last, zone) + timedelta(days=1)
    except (KeyError, ValueError):
        since, until = default_until - length, default_until
    if until <= since:
        flash(_("The period must end after it starts."), "error")
        since, until = default_until - length, default_until
    projection = simulate(get_session(), program, since, until)
    return render_template(
        "channel/program_simulation.html",
        program=program,
        projection=projection,
        since=since.astimezone(zone).date(),
        last_day=(until.astimezone(zone) - timedelta(days=1)).date(),
        role_labels=ROLE_LABELS,
    )
