"""Rewards: staff spend their points; channel managers keep the catalog; partner managers the pool."""

import uuid

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from channel.pool import distribute, pool_history
from channel.postings import balance_of, person_account, pool_account
from channel.rewards import (
    Redemption,
    RedemptionRefused,
    Reward,
    RewardDetails,
    RewardKind,
    cancel_redemption,
    codes_left,
    fulfil_redemption,
    import_codes,
    redeem,
    save_reward,
)
from channel.uploads import IMAGES, proof_path, proofs_kept_on_success
from core.config import LANGUAGES
from core.db import get_session
from core.errors import InvalidInput
from core.views import attempt
from roles.access import requires
from roles.models import Person
from roles.permissions import Permission

bp = Blueprint("rewards", __name__)


def _available(db, reward: Reward) -> int | None:
    return codes_left(db, reward) if reward.kind == "gift_card" else reward.stock


@bp.route("/rewards/")
@requires(Permission.REDEEM_REWARDS)
def catalog():
    db = get_session()
    rewards = db.scalars(
        select(Reward).where(Reward.active.is_(True)).order_by(Reward.points_price)
    ).all()
    pending, available = balance_of(db, person_account(current_user.id))
    mine = db.scalars(
        select(Redemption)
        .where(Redemption.person_id == current_user.id)
        .order_by(Redemption.id.desc())
    ).all()
    return render_template(
        "channel/rewards.html",
        rewards=[(r, _available(db, r)) for r in rewards],
        pending=pending,
        available=available,
        mine=mine,
        request_key=uuid.uuid4().hex,
    )


@bp.route("/rewards/<int:reward_id>/image")
@requires(Permission.VIEW_PARTNERS)
def reward_image(reward_id):
    reward = get_session().get(Reward, reward_id)
    if reward is None or not reward.image:
        abort(404)
    path = proof_path(current_app.config["UPLOAD_FOLDER"], reward.image)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=reward.image_type, max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/rewards/<int:reward_id>/redeem", methods=["POST"])
@requires(Permission.REDEEM_REWARDS)
def redeem_reward(reward_id):
    db = get_session()
    reward = db.get(Reward, reward_id)
    if reward is None or not reward.active:
        abort(404)
    request_key = request.form.get("request_key") or uuid.uuid4().hex
    try:
        redemption = redeem(
            db,
            current_user,
            reward,
            request_key=f"{current_user.id}:{request_key[:60]}",
            shipping_address=request.form.get("shipping_address"),
        )
    except RedemptionRefused as refused:
        db.rollback()
        for message in refused.errors.values():
            flash(str(message), "error")
        return redirect(url_for("rewards.catalog")), 303
    db.commit()
    if redemption.code is not None:
        flash(_("Done. Your code: %(code)s", code=redemption.code.code), "success")
    else:
        flash(_("Done. We will let you know when it is on its way."), "success")
    return redirect(url_for("rewards.catalog")), 303


def _whole_number(text: str) -> int | None:
    """A typed whole number (maybe negative), or None; "²" is a digit to str.isdigit() only."""
    digits = text.removeprefix("-")
    return int(text) if digits.isascii() and digits.isdigit() else None


@bp.route("/rewards/manage", methods=["GET", "POST"])
@requires(Permission.MANAGE_REWARDS)
def manage():
    db = get_session()
    errors = {}
    if request.method == "POST":
        folder = current_app.config["UPLOAD_FOLDER"]
        image = None
        try:
            with proofs_kept_on_success(folder) as store:
                stock = request.form.get("stock", "").strip()
                price = request.form.get("points_price", "").strip()
                upload = request.files.get("image")
                if upload is not None and upload.filename:
                    image = store(upload.read(), IMAGES)
                save_reward(
                    db,
                    RewardDetails(
                        kind=request.form.get("kind", ""),
                        name=request.form.get("name", ""),
                        points_price=_whole_number(price),
                        stock=_whole_number(stock),
                        description=request.form.get("description", ""),
                        names={code: request.form.get(f"name_{code}", "") for code in LANGUAGES},
                        image=image,
                    ),
                )
                db.commit()
        except InvalidInput as invalid:
            db.rollback()
            errors = {k: str(v) for k, v in invalid.errors.items()}
        else:
            flash(_("The reward was added."), "success")
            return redirect(url_for("rewards.manage"))
    rewards = db.scalars(select(Reward).order_by(Reward.id.desc())).all()
    open_redemptions = db.scalars(
        select(Redemption).where(Redemption.status == "requested").order_by(Redemption.id)
    ).all()
    return render_template(
        "channel/rewards_manage.html",
        rewards=[(r, _available(db, r)) for r in rewards],
        redemptions=open_redemptions,
        kinds=list(RewardKind),
        errors=errors,
        values=request.form,
    ), 400 if errors else 200


@bp.route("/rewards/manage/<int:reward_id>/codes", methods=["POST"])
@requires(Permission.MANAGE_REWARDS)
def add_codes(reward_id):
    db = get_session()
    reward = db.get(Reward, reward_id) or abort(404)
    upload = request.files.get("file")
    try:
        text = upload.read().decode("utf-8-sig") if upload else request.form.get("codes", "")
        added, known = import_codes(db, reward, text)
    except UnicodeDecodeError:
        # Read with replacement characters, a UTF-16 or Windows file became made-up codes.
        flash(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again."), "error")
    except InvalidInput as invalid:
        db.rollback()
        for message in invalid.errors.values():
            flash(str(message), "error")
    else:
        db.commit()
        flash(
            _("%(added)s codes added, %(known)s already there.", added=added, known=known),
            "success",
        )
    return redirect(url_for("rewards.manage"))


@bp.route(
    "/rewards/manage/redemptions/<int:redemption_id>/<any(fulfil, cancel):action>", methods=["POST"]
)
@requires(Permission.MANAGE_REWARDS)
def decide_redemption(redemption_id, action):
    redemption = get_session().get(Redemption, redemption_id) or abort(404)
    step = fulfil_redemption if action == "fulfil" else cancel_redemption
    attempt(
        lambda db: step(db, redemption),
        done=_("Fulfilled.") if action == "fulfil" else _("Cancelled; the points were refunded."),
    )
    return redirect(url_for("rewards.manage"))


@bp.route("/partners/<int:partner_id>/pool", methods=["GET", "POST"])
@requires(Permission.VIEW_PARTNER_EARNINGS)
def company_pool(partner):
    db = get_session()
    staff = db.scalars(
        select(Person)
        .where(Person.partner_id == partner.id, Person.active.is_(True))
        .order_by(Person.full_name)
    ).all()
    errors = {}
    if request.method == "POST":
        if not current_user.can(Permission.MANAGE_POOL):
            abort(403)
        person_id = request.form.get("person_id", type=int)
        recipient = next((p for p in staff if p.id == person_id), None)
        try:
            distribute(
                db,
                partner,
                recipient,
                request.form.get("points", type=int),
                actor_id=current_user.id,
                note=request.form.get("note", ""),
                request_key=request.form.get("request_key") or uuid.uuid4().hex,
            )
        except InvalidInput as invalid:
            db.rollback()
            errors = {k: str(v) for k, v in invalid.errors.items()}
        else:
            db.commit()
            flash(_("The points were handed out."), "success")
            return redirect(url_for("rewards.company_pool", partner_id=partner.id))
    people = {p.id: p for p in db.scalars(select(Person).where(Person.partner_id == partner.id))}
    return render_template(
        "channel/pool.html",
        partner=partner,
        balance=balance_of(db, pool_account(partner.id))[1],
        staff=staff,
        history=pool_history(db, partner),
        people=people,
        errors=errors,
        values=request.form,
        request_key=uuid.uuid4().hex,
    ), 400 if errors else 200
