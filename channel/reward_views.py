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
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from channel.forms import (
    GiftCardCodesForm,
    PoolForm,
    RedeemForm,
    field_errors,
    reward_form,
    reward_values,
    typed_values,
)
from channel.pool import distribute, pool_history
from channel.postings import balance_of, person_account, pool_account
from channel.reward_categories import RewardCategory, category_or_none
from channel.reward_lists import (
    all_rewards,
    country_of,
    left_of,
    offered_categories,
    offered_rewards,
    open_redemptions,
    redemptions_of,
)
from channel.reward_offers import offer_countries
from channel.rewards import (
    Redemption,
    Reward,
    RewardDetails,
    RewardKind,
    cancel_redemption,
    fulfil_redemption,
    import_codes,
    offer_to,
    redeem,
    save_reward,
)
from channel.saving_goals import choose_goal, drop_goal, goal_progress
from channel.staff import active_staff, staff_by_id
from channel.uploads import IMAGES, proof_path, proofs_kept_on_success
from core.db import get_session, utcnow
from core.i18n import isolated, plural_text
from core.views import attempt
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("rewards", __name__)


@bp.route("/rewards/")
@requires(Permission.REDEEM_REWARDS)
def catalog():
    db = get_session()
    pending, available = balance_of(db, person_account(current_user.id))
    category = category_or_none(request.args.get("category"))
    country = country_of(db, current_user)
    goal = goal_progress(db, current_user, utcnow())
    return render_template(
        "channel/rewards.html",
        rewards=[
            (reward, offer, left_of(db, reward))
            for reward, offer in offered_rewards(db, country, category)
        ],
        categories=offered_categories(db, country),
        category=category,
        goal_id=goal.reward.id if goal else None,
        pending=pending,
        available=available,
        mine=redemptions_of(db, current_user.id),
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


def _code_of(redemption) -> str | None:
    """The gift-card code handed out, read inside the redemption's transaction: once it is
    committed, the answer needs nothing more from the database."""
    return redemption.code.code if redemption.code is not None else None


@bp.route("/rewards/<int:reward_id>/redeem", methods=["GET", "POST"])
@requires(Permission.REDEEM_REWARDS)
def redeem_reward(reward_id):
    """Redeem in two steps that need no JavaScript: this page says what it costs and what is
    left, and only its own POST, carrying `confirm`, spends the points."""
    db = get_session()
    reward = db.get(Reward, reward_id)
    if reward is None or not reward.active:
        abort(404)
    offer = offer_to(db, current_user, reward)
    form = RedeemForm()
    request_key = form.request_key.data or uuid.uuid4().hex
    refused = False
    if request.method == "POST" and form.confirm.data == "yes":
        redeemed = attempt(
            lambda db: _code_of(
                redeem(
                    db,
                    current_user,
                    reward,
                    request_key=f"{current_user.id}:{request_key[:60]}",
                    shipping_address=form.shipping_address.data,
                    iban=form.iban.data,
                )
            ),
            form=form,
        )
        if redeemed and redeemed.result is not None:
            flash(_("Done. Your code: %(code)s", code=redeemed.result), "success")
        elif redeemed:
            flash(_("Done. We will let you know when it is on its way."), "success")
        errors = field_errors(form)
        if redeemed or not errors:
            # Done, or refused as a whole (sold out, too few points): flashed on the catalog.
            return redirect(url_for("rewards.catalog")), 303
        refused = True
    if offer is None:
        # Not offered in the person's country: no page, as for a reward withdrawn. A
        # confirmed redemption got here through `redeem`, which refuses it in words.
        abort(404)
    available = balance_of(db, person_account(current_user.id))[1]
    return render_template(
        "channel/redeem_confirm.html",
        reward=reward,
        offer=offer,
        available=available,
        left=left_of(db, reward),
        errors=field_errors(form),
        values=typed_values(form),
        request_key=request_key,
    ), 400 if refused else 200


@bp.route("/rewards/<int:reward_id>/goal", methods=["POST"])
@requires(Permission.REDEEM_REWARDS)
def save_for(reward_id):
    """Make a reward the person's goal; their home then shows the way to it."""
    reward = get_session().get(Reward, reward_id) or abort(404)
    if attempt(lambda db: choose_goal(db, current_user, reward)):
        name = reward.text_in(str(get_locale()))[0]
        flash(_("You are saving for “%(reward)s”.", reward=isolated(name)), "success")
        return redirect(url_for("home.my_home")), 303
    return redirect(url_for("rewards.catalog")), 303


@bp.route("/rewards/goal/drop", methods=["POST"])
@requires(Permission.REDEEM_REWARDS)
def stop_saving():
    attempt(
        lambda db: drop_goal(db, current_user), done=_("You are no longer saving for a reward.")
    )
    return redirect(url_for("rewards.catalog")), 303


def _saved_from(form, existing: Reward | None = None) -> bool:
    """Add a reward from the reward form, or save `existing` edited in it: one operation and
    one form for both; True once saved (its picture kept), False with the problems at the
    form's fields."""
    with proofs_kept_on_success(current_app.config["UPLOAD_FOLDER"]) as store:

        def save(db):
            upload = form.image.data
            return save_reward(
                db,
                RewardDetails(
                    kind=form.kind.data if existing is None else existing.kind,
                    category=form.category.data,
                    name=form.name.data,
                    points_price=form.points_price.data,
                    stock=form.stock.data,
                    description=form.description.data,
                    names=form.names(),
                    descriptions=form.descriptions(),
                    offers=form.offer_terms(),
                    image=store(upload.read(), IMAGES) if upload is not None else None,
                    active=existing is None or form.active.data == "yes",
                    stock_shown=form.stock_shown.data,
                ),
                existing,
            )

        done = _("The reward was added.") if existing is None else _("The reward was saved.")
        if attempt(save, done=done, form=form):
            return True
        store.discard()
    return False


def _form_page(template: str, form, values: dict, refused: bool, **context):
    return render_template(
        template,
        kinds=list(RewardKind),
        categories=list(RewardCategory),
        countries=form.countries,
        errors=field_errors(form),
        values=values,
        **context,
    ), 400 if refused else 200


@bp.route("/rewards/manage", methods=["GET", "POST"])
@requires(Permission.MANAGE_REWARDS)
def manage():
    db = get_session()
    form = reward_form(offer_countries(db))
    if request.method == "POST" and _saved_from(form):
        return redirect(url_for("rewards.manage"))
    return _form_page(
        "channel/rewards_manage.html",
        form,
        typed_values(form),
        request.method == "POST",
        rewards=[(reward, left_of(db, reward)) for reward in all_rewards(db)],
        redemptions=open_redemptions(db),
    )


@bp.route("/rewards/manage/<int:reward_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_REWARDS)
def edit_reward(reward_id):
    """A reward's offers, prices, texts, category, stock, and whether it is offered at all,
    in the form that adds one."""
    db = get_session()
    reward = db.get(Reward, reward_id) or abort(404)
    # Its own countries too, so that saving never drops an offer the form did not show.
    form = reward_form(sorted({*offer_countries(db), *(o.country for o in reward.offers)}))
    if request.method == "POST" and _saved_from(form, reward):
        return redirect(url_for("rewards.manage"))
    values = (
        typed_values(form) if request.method == "POST" else reward_values(reward, form.countries)
    )
    return _form_page(
        "channel/reward_edit.html",
        form,
        values,
        request.method == "POST",
        reward=reward,
        left=left_of(db, reward),
    )


@bp.route("/rewards/manage/<int:reward_id>/codes", methods=["POST"])
@requires(Permission.MANAGE_REWARDS)
def add_codes(reward_id):
    reward = get_session().get(Reward, reward_id) or abort(404)
    form = GiftCardCodesForm()
    try:
        text = form.file.data.read().decode("utf-8-sig") if form.file.data else form.codes.data
    except UnicodeDecodeError:
        # Read with replacement characters, a UTF-16 or Windows file became made-up codes.
        flash(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again."), "error")
        return redirect(url_for("rewards.manage"))
    # The catalog is shown again, not this form: every problem is flashed.
    added = attempt(lambda db: import_codes(db, reward, text))
    if added:
        flash(
            " ".join(
                (
                    plural_text("%(num)s code added.", "%(num)s codes added.", added.result[0]),
                    plural_text(
                        "%(num)s code was already there.",
                        "%(num)s codes were already there.",
                        added.result[1],
                    ),
                )
            ),
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
    staff = active_staff(db, partner.id)
    form = PoolForm()
    refused = False
    if request.method == "POST":
        if not current_user.can(Permission.MANAGE_POOL):
            abort(403)
        recipient = next((p for p in staff if p.id == form.person_id.data), None)
        handed_out = attempt(
            lambda db: distribute(
                db,
                partner,
                recipient,
                form.points.data,
                actor_id=current_user.id,
                note=form.note.data,
                request_key=form.request_key.data or uuid.uuid4().hex,
            ),
            done=_("The points were handed out."),
            form=form,
        )
        if handed_out:
            return redirect(url_for("rewards.company_pool", partner_id=partner.id))
        refused = True
    return render_template(
        "channel/pool.html",
        partner=partner,
        balance=balance_of(db, pool_account(partner.id))[1],
        staff=staff,
        history=pool_history(db, partner),
        people=staff_by_id(db, partner.id),
        errors=field_errors(form),
        values=typed_values(form),
        request_key=uuid.uuid4().hex,
    ), 400 if refused else 200
