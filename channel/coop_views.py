"""Co-op funds on the web: partner managers ask and claim; channel managers decide."""

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from channel.coop import (
    CoopAsk,
    CoopFund,
    CoopRequest,
    InvalidCoop,
    claim_funds,
    committed,
    create_fund,
    preapprove,
    reimburse,
    reject,
    request_funds,
)
from core.db import get_session
from core.i18n import format_money
from core.views import attempt
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("coop", __name__)


def _day(value):
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


@bp.route("/partners/<int:partner_id>/coop", methods=["GET", "POST"])
@requires(Permission.VIEW_PARTNER_EARNINGS)
def partner_coop(partner):
    db = get_session()
    funds = db.scalars(
        select(CoopFund).where(CoopFund.active.is_(True)).order_by(CoopFund.name)
    ).all()
    errors = {}
    if request.method == "POST":
        if not current_user.can(Permission.REQUEST_COOP):
            abort(403)
        fund = next((f for f in funds if f.id == request.form.get("fund_id", type=int)), None)
        if fund is None:
            errors["fund"] = _("Choose a fund.")
        else:
            try:
                request_funds(
                    db,
                    fund,
                    partner,
                    current_user,
                    CoopAsk(
                        description=request.form.get("description", ""),
                        cost=request.form.get("cost", ""),
                        planned_on=_day(request.form.get("planned_on")),
                        manufacturers_featured=request.form.get("manufacturers_featured", type=int),
                    ),
                )
            except InvalidCoop as invalid:
                db.rollback()
                errors = {k: str(v) for k, v in invalid.errors.items()}
            else:
                db.commit()
                flash(_("Your request was sent."), "success")
                return redirect(url_for("coop.partner_coop", partner_id=partner.id))
    requests = db.scalars(
        select(CoopRequest)
        .where(CoopRequest.partner_id == partner.id)
        .order_by(CoopRequest.id.desc())
    ).all()
    return render_template(
        "channel/coop_partner.html",
        partner=partner,
        funds=funds,
        requests=requests,
        errors=errors,
        values=request.form,
    ), 400 if errors else 200


@bp.route("/partners/<int:partner_id>/coop/<int:request_id>/claim", methods=["POST"])
@requires(Permission.REQUEST_COOP)
def claim(partner, request_id):
    db = get_session()
    coop_request = db.get(CoopRequest, request_id)
    if coop_request is None or coop_request.partner_id != partner.id:
        abort(404)
    try:
        amount = claim_funds(
            db,
            coop_request,
            actual_cost=request.form.get("cost", ""),
            proof=request.form.get("proof", ""),
        )
    except InvalidCoop as invalid:
        db.rollback()
        for message in invalid.errors.values():
            flash(str(message), "error")
    else:
        db.commit()
        flash(
            _(
                "Claimed: %(amount)s will be reimbursed.",
                amount=format_money(amount, coop_request.fund.currency),
            ),
            "success",
        )
    return redirect(url_for("coop.partner_coop", partner_id=partner.id))


@bp.route("/coop/", methods=["GET", "POST"])
@requires(Permission.MANAGE_COOP)
def funds():
    db = get_session()
    errors = {}
    if request.method == "POST":
        try:
            create_fund(
                db,
                name=request.form.get("name", ""),
                currency=request.form.get("currency", ""),
                budget=request.form.get("budget", ""),
                share=request.form.get("share_percent", "50"),
            )
        except InvalidCoop as invalid:
            db.rollback()
            errors = {field: str(message) for field, message in invalid.errors.items()}
        else:
            db.commit()
            flash(_("The fund was created."), "success")
            return redirect(url_for("coop.funds"))
    all_funds = db.scalars(select(CoopFund).order_by(CoopFund.id.desc())).all()
    queue = db.scalars(
        select(CoopRequest)
        .where(CoopRequest.status.in_(("requested", "claimed")))
        .order_by(CoopRequest.id)
    ).all()
    return render_template(
        "channel/coop_funds.html",
        funds=[(f, committed(db, f)) for f in all_funds],
        queue=queue,
        errors=errors,
        values=request.form,
    ), 400 if errors else 200


@bp.route(
    "/coop/requests/<int:request_id>/<any(preapprove, reimburse, reject):action>", methods=["POST"]
)
@requires(Permission.MANAGE_COOP)
def decide(request_id, action):
    coop_request = get_session().get(CoopRequest, request_id) or abort(404)
    reason = request.form.get("reason", "")
    steps = {
        "preapprove": lambda db: preapprove(db, coop_request),
        "reimburse": lambda db: reimburse(db, coop_request),
        "reject": lambda db: reject(db, coop_request, reason=reason),
    }
    attempt(steps[action], done=_("Done."))
    return redirect(url_for("coop.funds"))
