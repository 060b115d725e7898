"""A field person's phone home: it draws on claims, the ledger, rewards and the leaderboard."""

from datetime import timedelta

from flask import Blueprint, current_app, render_template
from flask_login import current_user
from sqlalchemy import select

from channel.claim_models import Claim
from channel.leaderboard import standings
from channel.postings import balance_of, person_account, points_expiring, points_lifetime
from channel.rewards import Reward
from core.db import get_session, utcnow
from roles.access import requires
from roles.permissions import Permission, Role

bp = Blueprint("home", __name__)

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
        "channel/my_home.html",
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
