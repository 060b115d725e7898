"""The home page (where each person starts) and signing out everywhere."""

import logging

from flask import flash, redirect, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from core.db import get_session, utcnow
from roles.access import requires
from roles.blueprint import bp
from roles.permissions import Permission
from roles.sign_in_sessions import end_sessions

log = logging.getLogger(__name__)


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("roles.sign_in_phone"))
    if current_user.partner_id is None:
        return redirect(url_for("channel.partner_list"))
    if current_user.can(Permission.VIEW_STAFF):
        return redirect(url_for("roles.staff_list", partner_id=current_user.partner_id))
    return redirect(url_for("home.my_home"))


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
