"""Co-op funds on the web: partner managers ask and claim; channel managers decide."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from channel.coop import (
    CoopAsk,
    CoopRequest,
    all_funds,
    claim_funds,
    committed,
    create_fund,
    open_fund,
    open_funds,
    preapprove,
    reimburse,
    reject,
    request_funds,
    requests_of_partner,
    requests_to_decide,
)
from channel.forms import (
    CoopAskForm,
    CoopClaimForm,
    CoopFundForm,
    ReasonForm,
    field_errors,
    typed_values,
)
from core.db import get_session
from core.i18n import format_money
from core.views import attempt
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("coop", __name__)


@bp.route("/partners/<int:partner_id>/coop", methods=["GET", "POST"])
@requires(Permission.VIEW_PARTNER_EARNINGS)
def partner_coop(partner):
    form = CoopAskForm()
    refused = False
    if request.method == "POST":
        if not current_user.can(Permission.REQUEST_COOP):
            abort(403)
        ask = CoopAsk(
            description=form.description.data,
            cost=form.cost.data,
            planned_on=form.planned_on.data,
            manufacturers_featured=form.manufacturers_featured.data,
        )
        sent = attempt(
            lambda db: request_funds(
                db, open_fund(db, form.fund_id.data), partner, current_user, ask
            ),
            done=_("Your request was sent."),
            form=form,
        )
        if sent:
            return redirect(url_for("coop.partner_coop", partner_id=partner.id))
        refused = True
    db = get_session()
    return render_template(
        "channel/coop_partner.html",
        partner=partner,
        funds=open_funds(db),
        requests=requests_of_partner(db, partner.id),
        errors=field_errors(form),
        values=typed_values(form),
    ), 400 if refused else 200


@bp.route("/partners/<int:partner_id>/coop/<int:request_id>/claim", methods=["POST"])
@requires(Permission.REQUEST_COOP)
def claim(partner, request_id):
    coop_request = get_session().get(CoopRequest, request_id)
    if coop_request is None or coop_request.partner_id != partner.id:
        abort(404)
    form = CoopClaimForm()
    # The page shows the request again, not this form: every problem is flashed.
    claimed = attempt(
        lambda db: claim_funds(db, coop_request, actual_cost=form.cost.data, proof=form.proof.data)
    )
    if claimed:
        flash(
            _(
                "Claimed: %(amount)s will be reimbursed.",
                amount=format_money(claimed.result, coop_request.fund.currency),
            ),
            "success",
        )
    return redirect(url_for("coop.partner_coop", partner_id=partner.id))


@bp.route("/coop/", methods=["GET", "POST"])
@requires(Permission.MANAGE_COOP)
def funds():
    form = CoopFundForm()
    refused = False
    if request.method == "POST":
        created = attempt(
            lambda db: create_fund(
                db,
                name=form.name.data,
                currency=form.currency.data,
                budget=form.budget.data,
                share=form.share_percent.data,
            ),
            done=_("The fund was created."),
            form=form,
        )
        if created:
            return redirect(url_for("coop.funds"))
        refused = True
    db = get_session()
    return render_template(
        "channel/coop_funds.html",
        funds=[(fund, committed(db, fund)) for fund in all_funds(db)],
        queue=requests_to_decide(db),
        errors=field_errors(form),
        values=typed_values(form),
    ), 400 if refused else 200


@bp.route(
    "/coop/requests/<int:request_id>/<any(preapprove, reimburse, reject):action>", methods=["POST"]
)
@requires(Permission.MANAGE_COOP)
def decide(request_id, action):
    coop_request = get_session().get(CoopRequest, request_id) or abort(404)
    reason = ReasonForm().reason.data
    steps = {
        "preapprove": lambda db: preapprove(db, coop_request),
        "reimburse": lambda db: reimburse(db, coop_request),
        "reject": lambda db: reject(db, coop_request, reason=reason),
    }
    attempt(steps[action], done=_("Done."))
    return redirect(url_for("coop.funds"))
