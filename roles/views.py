"""The home page, the phone home and profiles; the blueprint that sign-in and staff pages share."""

import logging
from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import select

from channel.claims import Claim
from channel.leaderboard import standings
from channel.postings import balance_of, person_account, points_expiring, points_lifetime
from channel.rewards import Reward
from core.config import LANGUAGES
from core.db import get_session, utcnow
from core.errors import InvalidInput
from core.i18n import format_list, language_name
from messaging.consent import opted_out_channels, set_consent
from roles.access import requires
from roles.auth import change_password, make_password_hasher
from roles.browser_sessions import sign_in_browser
from roles.forms import CHANNEL_LABELS, ROLE_LABELS, PasswordForm, ProfileForm
from roles.models import CHANNELS
from roles.people import format_phone, update_preferences
from roles.permissions import Permission, Role
from roles.sign_in_sessions import end_sessions

bp = Blueprint("roles", __name__)
log = logging.getLogger(__name__)

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
    person = current_user._get_current_object()
    password_form = PasswordForm()
    if password_form.validate_on_submit():
        db = get_session()
        try:
            change_password(
                db,
                person,
                current=password_form.current_password.data,
                new=password_form.new_password.data,
                repeated=password_form.repeat_password.data,
                hasher=make_password_hasher(current_app.config),
                now=utcnow(),
            )
        except InvalidInput as invalid:
            for name, message in invalid.errors.items():
                getattr(password_form, name).errors.append(str(message))
        else:
            # Every other browser is signed out; this one carries on in a new session.
            sign_in_browser(db, person, "password-change")
            log.info("password changed person=%s", person.id)
            flash(_("Your password is changed."), "success")
            return redirect(url_for("roles.profile"))
    return _render_profile(_profile_form(person), password_form, 400)


@bp.route("/profile/sign-out-everywhere", methods=["POST"])
@requires(Permission.EDIT_OWN_PROFILE)
def sign_out_everywhere():
    """End every session of the signed-in person, this browser's too (a lost phone, say)."""
    db = get_session()
    person = current_user._get_current_object()
    end_sessions(db, person, utcnow())
    db.commit()
    log.info("signed out everywhere person=%s", person.id)
    said = _("You have signed out on every device.")  # in their language, while it is known
    logout_user()
    session.clear()
    flash(said, "info")
    return redirect(url_for("roles.sign_in_phone"))


# The other pages of this blueprint: importing them registers their routes.
from roles import sign_in_views, staff_views  # noqa: E402, F401
