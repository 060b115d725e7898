"""Sign-in, the home page, profiles and partner staff management."""

import logging
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from channel.claims import Claim
from channel.leaderboard import standings
from channel.postings import balance_of, person_account, points_expiring, points_lifetime
from channel.rewards import Reward
from core.config import LANGUAGES
from core.db import get_session, utcnow
from core.errors import InvalidInput
from core.extensions import limiter
from core.i18n import format_list, language_name, localize_digits
from messaging.consent import opted_out_channels, set_consent
from roles.access import requires
from roles.auth import (
    CodePolicy,
    SignInRefused,
    authenticate_with_password,
    change_password,
    code_policy,
    find_by_phone,
    issue_sign_in_code,
    make_password_hasher,
    open_sign_in_link,
    use_sign_in_link,
    verify_sign_in_code,
)
from roles.forms import (
    CHANNEL_LABELS,
    ROLE_LABELS,
    CodeForm,
    PasswordForm,
    PasswordSignInForm,
    PersonForm,
    PhoneSignInForm,
    ProfileForm,
    StaffImportForm,
)
from roles.models import CHANNELS, Person
from roles.people import (
    InvalidPerson,
    PersonDetails,
    Placement,
    format_phone,
    known_timezones,
    normalize_phone,
    save_person,
    update_preferences,
)
from roles.permissions import (
    MANUFACTURER_ROLES,
    PARTNER_ROLES,
    Permission,
    Role,
    assignable_roles,
    may_manage,
)
from roles.staff_import import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, UnreadableStaffFile, import_staff

bp = Blueprint("roles", __name__)
log = logging.getLogger(__name__)

#: The session key carrying the phone number between the two steps of phone sign-in.
PHONE_KEY = "sign_in_phone"
#: Zones offered on the profile page besides the person's own.
COMMON_ZONES = (
    "UTC",
    "Europe/Riga",
    "Europe/Vilnius",
    "Europe/Tallinn",
    "Europe/Warsaw",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Kyiv",
    "Europe/Moscow",
    "Asia/Jerusalem",
    "Asia/Tehran",
    "Asia/Dubai",
)


bp.add_app_template_filter(format_phone, "phone")


@bp.app_template_global()
def role_names(roles) -> str:
    """A person's roles as the reader would list them ("Seller and Engineer")."""
    return format_list(ROLE_LABELS[role.value] for role in Role if role in roles)


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _code_policy() -> CodePolicy:
    return code_policy(current_app.config)


def _safe_next(default: str) -> str:
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if (
        target.startswith("/")
        and not target.startswith("//")
        and not parts.scheme
        and not parts.netloc
    ):
        return target
    return default


def _start_session(person: Person, method: str) -> None:
    # A fresh session at every sign-in: nothing from before it carries over.
    session.clear()
    login_user(person)
    log.info("sign-in person=%s method=%s", person.id, method)


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("roles.sign_in_phone"))
    if current_user.partner_id is None:
        return redirect(url_for("channel.partner_list"))
    if current_user.can(Permission.VIEW_STAFF):
        return redirect(url_for("roles.staff_list", partner_id=current_user.partner_id))
    return redirect(url_for("roles.my_home"))


#: What each field role does next, first match wins: (role, claim kind).
NEXT_STEPS = (
    (Role.TECHNICIAN, "install"),
    (Role.ENGINEER, "install"),
    (Role.SELLER, "sale"),
    (Role.PROCUREMENT, "order"),
)


@bp.route("/me")
@requires(Permission.EDIT_OWN_PROFILE)
def my_home():
    """A field person's phone home: balance, what expires, what to do next, latest claims."""
    db = get_session()
    person, now = current_user, utcnow()
    account = person_account(person.id)
    pending, available = balance_of(db, account)
    lifetime = points_lifetime(current_app.config["POINTS_LIFETIME_MONTHS"])
    expiring = points_expiring(db, account, by=now + timedelta(days=30), lifetime=lifetime)
    roles = person.roles
    next_kinds = [kind for role, kind in NEXT_STEPS if role in roles]
    if Role.PROCUREMENT in roles:
        next_kinds.append("payment")
    claims = db.scalars(
        select(Claim).where(Claim.person_id == person.id).order_by(Claim.id.desc()).limit(3)
    ).all()
    within_reach = db.scalar(
        select(Reward)
        .where(Reward.active.is_(True), Reward.points_price > available)
        .order_by(Reward.points_price)
        .limit(1)
    )
    return render_template(
        "roles/my_home.html",
        person=person,
        pending=pending,
        available=available,
        expiring=expiring,
        next_kinds=list(dict.fromkeys(next_kinds)),
        claims=claims,
        within_reach=within_reach,
        standings=standings(db, person),
        as_of=now,
    )


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def sign_in():
    form = PasswordSignInForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            person = authenticate_with_password(
                db,
                form.email.data,
                form.password.data,
                make_password_hasher(current_app.config),
                utcnow(),
            )
        except SignInRefused as refused:
            log.info("sign-in refused method=password")
            form.password.errors.append(str(refused))
        else:
            db.commit()
            _start_session(person, "password")
            return redirect(_safe_next(url_for("roles.home")))
    return render_template("roles/sign_in.html", form=form), 400 if form.is_submitted() else 200


@bp.route("/sign-in/phone", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def sign_in_phone():
    form = PhoneSignInForm()
    if form.validate_on_submit():
        try:
            phone = normalize_phone(form.phone.data, current_app.config["DEFAULT_PHONE_REGION"])
        except ValueError as exc:
            form.phone.errors.append(str(exc.args[0]))
            return render_template("roles/sign_in_phone.html", form=form), 400
        db = get_session()
        person = find_by_phone(db, phone)
        if person is not None:
            try:
                issue_sign_in_code(db, person, _code_policy(), utcnow())
            except SignInRefused as refused:
                db.rollback()
                form.phone.errors.append(str(refused))
                return render_template("roles/sign_in_phone.html", form=form), 429
            db.commit()
        session[PHONE_KEY] = phone
        return redirect(url_for("roles.sign_in_code"))
    return render_template(
        "roles/sign_in_phone.html", form=form
    ), 400 if form.is_submitted() else 200


@bp.route("/sign-in/phone/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def sign_in_code():
    phone = session.get(PHONE_KEY)
    if not phone:
        return redirect(url_for("roles.sign_in_phone"))
    form = CodeForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            person = verify_sign_in_code(db, phone, form.code.data, _code_policy(), utcnow())
        except SignInRefused as refused:
            db.commit()  # the failed try is counted
            log.info("sign-in refused method=sms-code")
            form.code.errors.append(str(refused))
        else:
            db.commit()
            _start_session(person, "sms-code")
            return redirect(url_for("roles.home"))
    status = 400 if form.is_submitted() else 200
    return render_template("roles/sign_in_code.html", form=form, phone=phone), status


@bp.route("/s/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def sign_in_link(token):
    """The one-time link from the sign-in SMS. Opening it only asks; the button signs in, so
    a phone's link preview (which opens links by itself) cannot spend it."""
    db = get_session()
    if request.method == "POST":
        form = FlaskForm()
        if form.validate_on_submit():
            try:
                person = use_sign_in_link(db, token, utcnow())
            except SignInRefused as refused:
                db.rollback()
                return render_template("roles/sign_in_link.html", person=None, error=refused), 410
            db.commit()
            _start_session(person, "sms-link")
            return redirect(url_for("roles.home"))
    person = open_sign_in_link(db, token, utcnow())
    if person is None:
        refused = _("This sign-in link has expired or was already used. Sign in with your phone.")
        return render_template("roles/sign_in_link.html", person=None, error=refused), 410
    return render_template("roles/sign_in_link.html", person=person, form=FlaskForm(), error=None)


@bp.route("/sign-out", methods=["POST"])
def sign_out():
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("roles.sign_in_phone"))


@bp.route("/language", methods=["POST"])
def choose_language():
    """A visitor's language choice before signing in; signed-in people use their profile."""
    code = request.form.get("language", "")
    if code in LANGUAGES:
        session["language"] = code
    return redirect(_safe_next(url_for("roles.home")))


def _zone_choices(current: str):
    zones = list(dict.fromkeys([current, *COMMON_ZONES]))
    return [(z, z.replace("_", " ")) for z in zones]


def _profile_form(person) -> ProfileForm:
    form = ProfileForm(obj=person)
    form.language.choices = [(code, language_name(code)) for code in LANGUAGES]
    form.timezone.choices = _zone_choices(person.timezone)
    form.preferred_channel.choices = [
        (c, CHANNEL_LABELS[c]) for c in CHANNELS if c != "email" or person.email
    ]
    form.stopped_channels.choices = form.preferred_channel.choices
    if not form.is_submitted():
        form.stopped_channels.data = sorted(opted_out_channels(get_session(), person.id))
    return form


def _render_profile(form, password_form, status=200):
    return render_template(
        "roles/profile.html", form=form, password_form=password_form, person=current_user
    ), status


@bp.route("/profile", methods=["GET", "POST"])
@requires(Permission.EDIT_OWN_PROFILE)
def profile():
    person = current_user
    form = _profile_form(person)
    if form.validate_on_submit():
        update_preferences(
            person,
            language=form.language.data,
            timezone=form.timezone.data,
            preferred_channel=form.preferred_channel.data,
        )
        for channel, _label in form.stopped_channels.choices:
            stopped = channel in (form.stopped_channels.data or ())
            set_consent(get_session(), person.id, channel, opted_out=stopped, source="profile")
        get_session().commit()
        flash(_("Your settings are saved."), "success")
        return redirect(url_for("roles.profile"))
    return _render_profile(form, PasswordForm(formdata=None), 400 if form.is_submitted() else 200)


@bp.route("/profile/password", methods=["POST"])
@requires(Permission.EDIT_OWN_PROFILE)
def change_own_password():
    person = current_user
    password_form = PasswordForm()
    if password_form.validate_on_submit():
        try:
            change_password(
                person,
                current=password_form.current_password.data,
                new=password_form.new_password.data,
                repeated=password_form.repeat_password.data,
                hasher=make_password_hasher(current_app.config),
            )
        except InvalidInput as invalid:
            for name, message in invalid.errors.items():
                getattr(password_form, name).errors.append(str(message))
        else:
            get_session().commit()
            log.info("password changed person=%s", person.id)
            flash(_("Your password is changed."), "success")
            return redirect(url_for("roles.profile"))
    return _render_profile(_profile_form(person), password_form, 400)


@bp.route("/partners/<int:partner_id>/staff")
@requires(Permission.VIEW_STAFF)
def staff_list(partner):
    people = (
        get_session()
        .scalars(
            select(Person)
            .where(Person.partner_id == partner.id)
            .options(selectinload(Person.role_assignments))
            .order_by(Person.full_name)
        )
        .all()
    )
    return render_template(
        "roles/staff_list.html",
        partner=partner,
        people=people,
        channel_labels=CHANNEL_LABELS,
    )


def _person_form(person: Person | None, *, manufacturer: bool) -> PersonForm:
    form = PersonForm(obj=person)
    if person is not None and not form.is_submitted():
        form.roles.data = sorted(person.roles)
    offered = assignable_roles(current_user.roles)
    side = MANUFACTURER_ROLES if manufacturer else PARTNER_ROLES
    form.roles.choices = [
        (r.value, ROLE_LABELS[r.value]) for r in Role if r in offered and r in side
    ]
    form.language.choices = [(code, language_name(code)) for code in LANGUAGES]
    form.preferred_channel.choices = [(c, CHANNEL_LABELS[c]) for c in CHANNELS]
    return form


def _details(form: PersonForm) -> PersonDetails:
    return PersonDetails(
        full_name=form.full_name.data,
        phone=form.phone.data,
        email=form.email.data,
        roles=form.roles.data or [],
        language=form.language.data,
        timezone=form.timezone.data,
        preferred_channel=form.preferred_channel.data,
        active=form.active.data,
    )


def _render_person_form(form: PersonForm, partner, person: Person | None):
    status = 400 if form.is_submitted() else 200
    return render_template(
        "roles/person_form.html",
        form=form,
        partner=partner,
        person=person,
        zones=sorted(known_timezones()),
    ), status


def _placement(partner) -> Placement:
    return Placement.at(
        partner,
        assignable=assignable_roles(current_user.roles),
        phone_region=current_app.config["DEFAULT_PHONE_REGION"],
    )


def _save_from_form(form: PersonForm, *, partner, existing: Person | None):
    db = get_session()
    try:
        person = save_person(db, _details(form), _placement(partner), existing)
    except InvalidPerson as invalid:
        db.rollback()
        for name, message in invalid.errors.items():
            getattr(form, name, form.full_name).errors.append(str(message))
        return None
    db.commit()
    return person


@bp.route("/partners/<int:partner_id>/staff/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_STAFF)
def staff_new(partner):
    form = _person_form(None, manufacturer=False)
    if form.validate_on_submit():
        person = _save_from_form(form, partner=partner, existing=None)
        if person is not None:
            flash(_("%(name)s was added.", name=person.full_name), "success")
            return redirect(url_for("roles.staff_list", partner_id=partner.id))
    return _render_person_form(form, partner, None)


@bp.route("/people/<int:person_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_STAFF)
def person_edit(person):
    partner = person.partner
    if not may_manage(current_user.roles, person.roles):
        abort(403)
    form = _person_form(person, manufacturer=partner is None)
    if form.validate_on_submit():
        if person.id == current_user.id and not form.active.data:
            form.active.errors.append(_("You cannot deactivate yourself."))
        elif _save_from_form(form, partner=partner, existing=person) is not None:
            flash(_("%(name)s was saved.", name=person.full_name), "success")
            if partner is not None:
                return redirect(url_for("roles.staff_list", partner_id=partner.id))
            return redirect(url_for("roles.home"))
    return _render_person_form(form, partner, person)


@bp.route("/partners/<int:partner_id>/staff/import", methods=["GET", "POST"])
@requires(Permission.IMPORT_STAFF)
def staff_import(partner):
    form = StaffImportForm()
    report = None
    status = 200
    if form.validate_on_submit():
        db = get_session()
        try:
            report = import_staff(db, form.file.data.read(), _placement(partner))
        except UnreadableStaffFile as unreadable:
            db.rollback()
            form.file.errors.append(str(unreadable.args[0]))
            status = 400
        else:
            db.commit()
            flash(
                localize_digits(
                    ngettext(
                        "%(num)s person imported.", "%(num)s people imported.", len(report.imported)
                    )
                ),
                "success",
            )
            if report.rejected:
                flash(
                    localize_digits(
                        ngettext(
                            "%(num)s row rejected.", "%(num)s rows rejected.", len(report.rejected)
                        )
                    ),
                    "warning",
                )
    elif form.is_submitted():
        status = 400
    return render_template(
        "roles/staff_import.html",
        form=form,
        partner=partner,
        report=report,
        required=REQUIRED_COLUMNS,
        optional=OPTIONAL_COLUMNS,
        roles=[r.value for r in Role if r in PARTNER_ROLES],
    ), status
