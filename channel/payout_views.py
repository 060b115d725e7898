"""Fulfilment pages of the manufacturer: goods to ship (export, shipment files, failures) and
cash-outs (approval, values, payment batches and their files)."""

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from channel import exports
from channel.coalition import BrandFulfilment, brands
from channel.forms import field_errors
from channel.payout_forms import (
    BatchForm,
    CashOutValueForm,
    FailureForm,
    ShipmentsImportForm,
)
from channel.payout_models import BatchFormat, CashOut, CashOutState, PayoutBatch
from channel.payouts import (
    approve_cash_out,
    approved_currencies,
    batches,
    build_batch,
    cash_out_rewards,
    debtor_from_config,
    fail_cash_out,
    open_cash_outs,
    set_cash_out_value,
)
from channel.rewards import Redemption, Reward
from channel.shipments import (
    fail_goods,
    goods_awaiting,
    goods_table,
    import_shipments,
    read_shipments,
    reference_of,
)
from core.db import get_session, utcnow
from core.import_reports import REPORT_PAGE_LINES
from core.report_views import keep_refused_lines
from core.views import attempt
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("payouts", __name__, url_prefix="/fulfilment")


@bp.route("/goods", methods=["GET", "POST"])
@requires(Permission.MANAGE_REWARDS)
def goods():
    """Goods awaiting shipment by supplier, their exports, and the shipment file import."""
    form = ShipmentsImportForm()
    report, error, report_token = None, None, None
    if request.method == "POST":
        if form.file.data is None:
            error = _("Choose a CSV or XLSX file.")
        else:
            data = form.file.data.read()
            imported = attempt(
                lambda db: import_shipments(
                    db,
                    list(read_shipments(data, current_app.config["IMPORT_MAX_ROWS"])),
                    today=utcnow().date(),
                ),
                form=form,
            )
            if imported:
                report = imported.result
                report_token = keep_refused_lines(report.rejected)
            else:
                error = field_errors(form).get("file")
    db = get_session()
    return render_template(
        "channel/fulfilment_goods.html",
        own=goods_awaiting(db, None),
        by_export=[
            (brand, goods_awaiting(db, brand.id))
            for brand in brands(db)
            if brand.fulfilment == BrandFulfilment.EXPORT
        ],
        reference_of=reference_of,
        report=report,
        error=error,
        report_token=report_token,
        page_lines=REPORT_PAGE_LINES,
    ), (400 if error else 200)


@bp.route("/goods/export/own.<any(csv, xlsx):fmt>")
@requires(Permission.MANAGE_REWARDS)
def goods_export(fmt):
    """The manufacturer's own goods awaiting shipment (a brand's: its own page)."""
    return exports.download(lambda session: goods_table(session, None), fmt, "goods")


@bp.route("/goods/<int:redemption_id>/fail", methods=["POST"])
@requires(Permission.MANAGE_REWARDS)
def goods_fail(redemption_id):
    redemption = get_session().get(Redemption, redemption_id) or abort(404)
    form = FailureForm()
    attempt(
        lambda db: fail_goods(db, redemption, form.reason.data),
        done=_("The points were refunded and the person told why."),
    )
    return redirect(url_for("payouts.goods"))


@bp.route("/cash-outs", methods=["GET", "POST"])
@requires(Permission.MANAGE_REWARDS)
def cash_outs():
    """Cash-outs to approve, the batches to pay them in, and what each cash-out reward pays."""
    form = BatchForm()
    if request.method == "POST":
        made = attempt(
            lambda db: build_batch(
                db,
                form.currency.data,
                debtor=debtor_from_config(current_app.config),
                actor_id=current_user.id,
                execution_date=utcnow().date(),
            ),
            done=_("The batch is ready: download its file for the bank."),
            form=form,
        )
        if made:
            return redirect(url_for("payouts.cash_outs"))
    db = get_session()
    return render_template(
        "channel/fulfilment_cash_outs.html",
        waiting=open_cash_outs(db),
        currencies=approved_currencies(db),
        batches=batches(db),
        values=cash_out_rewards(db),
        CashOutState=CashOutState,
        BatchFormat=BatchFormat,
        errors=field_errors(form),
    ), (400 if form.errors else 200)


@bp.route("/cash-outs/<int:cash_out_id>/<any(approve, fail):action>", methods=["POST"])
@requires(Permission.MANAGE_REWARDS)
def cash_out_decide(cash_out_id, action):
    cash_out = get_session().get(CashOut, cash_out_id) or abort(404)
    if action == "approve":
        attempt(lambda db: approve_cash_out(db, cash_out), done=_("Approved."))
    else:
        form = FailureForm()
        attempt(
            lambda db: fail_cash_out(db, cash_out, form.reason.data),
            done=_("The points were refunded and the person told why."),
        )
    return redirect(url_for("payouts.cash_outs"))


@bp.route("/cash-outs/values/<int:reward_id>", methods=["POST"])
@requires(Permission.MANAGE_REWARDS)
def cash_out_value(reward_id):
    reward = get_session().get(Reward, reward_id) or abort(404)
    form = CashOutValueForm()
    attempt(
        lambda db: set_cash_out_value(db, reward, form.amount.data, form.currency.data),
        done=_("Saved."),
    )
    return redirect(url_for("payouts.cash_outs"))


@bp.route("/cash-outs/batches/<int:batch_id>/file")
@requires(Permission.MANAGE_REWARDS)
def batch_file(batch_id):
    batch = get_session().get(PayoutBatch, batch_id) or abort(404)
    sepa = batch.format == BatchFormat.SEPA
    name = f"cash-outs-{batch.id}-{batch.currency}.{'xml' if sepa else 'csv'}"
    return Response(
        batch.document,
        mimetype="application/xml" if sepa else "text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
