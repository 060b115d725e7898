"""Coalition brands' pages for channel managers: the brands, their rewards, each month's
settlement (page, CSV, XLSX) and, for brands that deliver by export, their goods to ship."""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from channel import exports
from channel.coalition import (
    Brand,
    BrandDetails,
    BrandFulfilment,
    brands,
    give_reward_to_brand,
    parse_month,
    rewards_of,
    rewards_without_brand,
    save_brand,
    settle,
    settlement_table,
)
from channel.forms import field_errors, typed_values
from channel.payout_forms import BrandForm, BrandRewardForm
from channel.rewards import Reward
from channel.shipments import goods_awaiting, goods_table, reference_of
from core.db import get_session, utcnow
from core.errors import InvalidInput
from core.views import MAX_ID, attempt, report
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("coalition", __name__, url_prefix="/coalition")


def _details(form: BrandForm) -> BrandDetails:
    return BrandDetails(
        name=form.name.data,
        contact=form.contact.data,
        currency=form.currency.data,
        rate_per_point=form.rate_per_point.data,
        fulfilment=form.fulfilment.data,
    )


@bp.route("/brands", methods=["GET", "POST"])
@requires(Permission.MANAGE_REWARDS)
def brand_list():
    form = BrandForm()
    if request.method == "POST":
        added = attempt(lambda db: save_brand(db, _details(form)), done=_("Saved."), form=form)
        if added:
            return redirect(url_for("coalition.brand_page", brand_id=added.result.id))
    return render_template(
        "channel/brands.html",
        brands=brands(get_session()),
        fulfilments=list(BrandFulfilment),
        BrandFulfilment=BrandFulfilment,
        errors=field_errors(form),
        values=typed_values(form),
    ), (400 if form.errors else 200)


@bp.route("/brands/<int:brand_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_REWARDS)
def brand_page(brand_id):
    db = get_session()
    brand = db.get(Brand, brand_id) or abort(404)
    form = BrandForm()
    if request.method == "POST":
        saved = attempt(
            lambda db: save_brand(db, _details(form), existing=brand), done=_("Saved."), form=form
        )
        if saved:
            return redirect(url_for("coalition.brand_page", brand_id=brand.id))
        db.expire_all()
    values = typed_values(form) or {
        "name": brand.name,
        "contact": brand.contact,
        "currency": brand.currency,
        "rate_per_point": f"{brand.rate_per_point.normalize():f}",
        "fulfilment": brand.fulfilment,
    }
    awaiting = goods_awaiting(db, brand.id) if brand.fulfilment == BrandFulfilment.EXPORT else []
    return render_template(
        "channel/brand.html",
        brand=brand,
        rewards=rewards_of(db, brand.id),
        own_rewards=rewards_without_brand(db),
        awaiting=awaiting,
        reference_of=reference_of,
        fulfilments=list(BrandFulfilment),
        errors=field_errors(form),
        values=values,
        month=f"{utcnow():%Y-%m}",
    ), (400 if form.errors else 200)


@bp.route("/brands/<int:brand_id>/rewards", methods=["POST"])
@requires(Permission.MANAGE_REWARDS)
def brand_reward(brand_id):
    db = get_session()
    brand = db.get(Brand, brand_id) or abort(404)
    form = BrandRewardForm()
    chosen = form.reward_id.data
    reward = db.get(Reward, chosen) if chosen is not None and 0 < chosen <= MAX_ID else None
    attempt(lambda db: give_reward_to_brand(db, brand, reward), done=_("Saved."))
    return redirect(url_for("coalition.brand_page", brand_id=brand.id))


def _month():
    try:
        return parse_month(request.args.get("month") or f"{utcnow():%Y-%m}")
    except InvalidInput as invalid:
        report(invalid)
        return None


@bp.route("/brands/<int:brand_id>/settlement")
@requires(Permission.MANAGE_REWARDS)
def settlement(brand_id):
    brand = get_session().get(Brand, brand_id) or abort(404)
    month = _month()
    return render_template(
        "channel/brand_settlement.html",
        brand=brand,
        month=month,
        settlement=settle(get_session(), brand, month) if month else None,
    ), (200 if month else 400)


@bp.route("/brands/<int:brand_id>/settlement.<any(csv, xlsx):fmt>")
@requires(Permission.MANAGE_REWARDS)
def settlement_export(brand_id, fmt):
    brand = get_session().get(Brand, brand_id) or abort(404)
    month = _month()
    if month is None:
        return redirect(url_for("coalition.settlement", brand_id=brand.id))
    return exports.download(
        lambda session: settlement_table(session, session.get(Brand, brand.id), month),
        fmt,
        f"settlement-{brand.id}-{month:%Y-%m}",
    )


@bp.route("/brands/<int:brand_id>/goods.<any(csv, xlsx):fmt>")
@requires(Permission.MANAGE_REWARDS)
def brand_goods(brand_id, fmt):
    """The goods of the brand's rewards awaiting shipment, for a brand that delivers them."""
    brand = get_session().get(Brand, brand_id) or abort(404)
    if brand.fulfilment != BrandFulfilment.EXPORT:
        abort(404)
    return exports.download(
        lambda session: goods_table(session, brand.id), fmt, f"goods-brand-{brand.id}"
    )
