"""A field person's phone home: it draws on claims, the ledger, rewards and the leaderboard."""

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from channel.expiry import points_lifetime
from channel.home import home_of
from core.db import get_session, utcnow
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("home", __name__)


@bp.route("/me")
@requires(Permission.EDIT_OWN_PROFILE)
def my_home():
    """A field person's phone home: balance, what expires, what to do next, latest claims."""
    now = utcnow()
    lifetime = points_lifetime(current_app.config["POINTS_LIFETIME_MONTHS"])
    home = home_of(get_session(), current_user, now, lifetime)
    return render_template(
        "channel/my_home.html",
        person=current_user,
        pending=home.pending,
        available=home.available,
        expiring=home.expiring,
        next_kinds=home.next_kinds,
        claims=home.claims,
        within_reach=home.within_reach,
        standings=home.standings,
        as_of=now,
    )
