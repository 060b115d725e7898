"""A field person's phone home: it draws on claims, the ledger, rewards and the leaderboard."""

from flask import Blueprint, current_app, render_template
from flask_babel import get_locale
from flask_login import current_user

from channel.expiry import points_lifetime
from channel.home import EXPIRY_AHEAD, home_of
from channel.points_history import HISTORY_PAGE, points_history
from channel.postings import balance_of, person_account
from core.db import get_session, utcnow
from core.views import page_number
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
        goal=home.goal,
        standings=home.standings,
        as_of=now,
    )


@bp.route("/me/points")
@requires(Permission.REDEEM_REWARDS)
def my_points():
    """Where the person's points came from and went, in plain words; what expires first."""
    now, page = utcnow(), page_number()
    db = get_session()
    history = points_history(
        db,
        current_user.id,
        language=str(get_locale()),
        page=page,
        expiring_by=now + EXPIRY_AHEAD,
        lifetime=points_lifetime(current_app.config["POINTS_LIFETIME_MONTHS"]),
    )
    pending, available = balance_of(db, person_account(current_user.id))
    return render_template(
        "channel/my_points.html",
        lines=history.lines,
        expiring=history.expiring,
        has_more=history.has_more,
        page=page,
        per_page=HISTORY_PAGE,
        pending=pending,
        available=available,
        lifetime_months=current_app.config["POINTS_LIFETIME_MONTHS"],
    )
