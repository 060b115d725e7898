"""The profile page: language, time zone, how we reach the person (consent included), password."""

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.config import LANGUAGES
from core.db import get_session, utcnow
from core.i18n import language_name
from core.views import attempt
from messaging.consent import opted_out_channels
from messaging.profile import save_profile
from roles.access import requires
from roles.auth import change_password, make_password_hasher
from roles.browser_sessions import sign_in_browser
from roles.forms import PasswordForm, ProfileForm
from roles.models import ContactChannel
from roles.permissions import Permission

bp = Blueprint("profile", __name__)
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


def _zone_choices(current: str):
    zones = list(dict.fromkeys([current, *COMMON_ZONES]))
    return [(z, z.replace("_", " ")) for z in zones]


def _profile_form(person) -> ProfileForm:
    form = ProfileForm(obj=person)
    form.language.choices = [(code, language_name(code)) for code in LANGUAGES]
    form.timezone.choices = _zone_choices(person.timezone)
    form.preferred_channel.choices = [
        (c.value, c.label) for c in ContactChannel if c != ContactChannel.EMAIL or person.email
    ]
    form.stopped_channels.choices = form.preferred_channel.choices
    if not form.is_submitted():
        form.stopped_channels.data = sorted(opted_out_channels(get_session(), person.id))
    return form


def _render_profile(form, password_form, status=200):
    return render_template(
        "messaging/profile.html", form=form, password_form=password_form, person=current_user
    ), status


@bp.route("/profile", methods=["GET", "POST"])
@requires(Permission.EDIT_OWN_PROFILE)
def profile():
    person = current_user
    form = _profile_form(person)
    if form.validate_on_submit():
        choices = {
            "language": form.language.data,
            "timezone": form.timezone.data,
            "preferred_channel": form.preferred_channel.data,
            "offered_channels": [channel for channel, _label in form.stopped_channels.choices],
            "stopped_channels": form.stopped_channels.data or (),
        }
        if attempt(
            lambda s: save_profile(s, person, **choices),
            done=_("Your settings are saved."),
            form=form,
        ):
            return redirect(url_for("profile.profile"))
    return _render_profile(form, PasswordForm(formdata=None), 400 if form.is_submitted() else 200)


@bp.route("/profile/password", methods=["POST"])
@requires(Permission.EDIT_OWN_PROFILE)
def change_own_password():
    person = current_user._get_current_object()
    password_form = PasswordForm()
    if password_form.validate_on_submit():
        passwords = {
            "current": password_form.current_password.data,
            "new": password_form.new_password.data,
            "repeated": password_form.repeat_password.data,
            "hasher": make_password_hasher(current_app.config),
            "now": utcnow(),
        }
        if attempt(lambda s: change_password(s, person, **passwords), form=password_form):
            # Every other browser is signed out; this one carries on in a new session (which
            # starts with a fresh cookie: the message is said after it).
            sign_in_browser(get_session(), person, "password-change")
            log.info("password changed person=%s", person.id)
            flash(_("Your password is changed."), "success")
            return redirect(url_for("profile.profile"))
    return _render_profile(_profile_form(person), password_form, 400)
