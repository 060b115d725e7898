"""Claims on the web: staff claim from a phone, reviewers decide, partner managers watch."""

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

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
from sqlalchemy.orm import selectinload

from channel.claim_models import Claim
from channel.claims import (
    ClaimDetails,
    approve_claim,
    referred_partner_id,
    reject_claim,
    return_claim,
    submit_claim,
)
from channel.models import Product
from channel.sales_import import UnreadableSalesFile, import_sales, read_sales
from channel.uploads import proof_path, proofs_kept_on_success
from core.db import get_session, utcnow
from core.errors import InvalidInput
from core.import_reports import REPORT_PAGE_LINES, keep_report
from core.views import MAX_ID, attempt
from roles.access import requires
from roles.models import Person
from roles.permissions import Permission

bp = Blueprint("claims", __name__)

LINE_ROWS = 5


def _day(value: str):
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _amount(raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip().replace(",", "."))
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() and value > 0 else Decimal(0)


def _return_window() -> timedelta:
    return timedelta(days=current_app.config["RETURN_WINDOW_DAYS"])


def _details(kind: str, form) -> ClaimDetails:
    lines = []
    for n in range(LINE_ROWS):
        sku = form.get(f"sku-{n}", "").strip()
        qty = form.get(f"qty-{n}", "").strip()
        if sku or qty:
            # Only ASCII digits: "²" is a digit to str.isdigit() but not to int().
            lines.append((sku, int(qty) if qty.isascii() and qty.isdigit() else 0))
    shares = {}
    colleague = form.get("share_person", type=int)
    if colleague is not None and not 0 < colleague <= MAX_ID:
        colleague = -1  # an id no column holds: refused as a stranger, never sent to the database
    percent = form.get("share_percent", type=int)
    if colleague and percent:
        shares = {current_user.id: 100 - percent, colleague: percent}
    return ClaimDetails(
        referred_partner_id=referred_partner_id(
            get_session(), form.get("referred_legal_id"), current_user
        )
        if kind == "referral"
        else None,
        kind=kind,
        occurred_on=_day(form.get("occurred_on")),
        lines=lines,
        invoice_number=form.get("invoice_number"),
        amount=_amount(form.get("amount", "")),
        due_on=_day(form.get("due_on")),
        serial=form.get("serial"),
        site=form.get("site"),
        shares=shares,
    )


@bp.route(
    "/claims/new/<any(sale, install, referral, order, payment):kind>", methods=["GET", "POST"]
)
@requires(Permission.SUBMIT_CLAIMS)
def claim_new(kind):
    db = get_session()
    errors = {}
    if request.method == "POST":
        details = _details(kind, request.form)
        folder = current_app.config["UPLOAD_FOLDER"]
        upload = request.files.get("photo")
        try:
            with proofs_kept_on_success(folder) as store:
                if upload is not None and upload.filename:
                    details.photo = store(upload.read())
                claim = submit_claim(
                    db, current_user, details, today=utcnow().date(), return_window=_return_window()
                )
                db.commit()
        except InvalidInput as invalid:
            db.rollback()
            errors = {k: str(v) for k, v in invalid.errors.items()}
        else:
            if claim.status == "approved":
                flash(_("Thank you: your claim is approved."), "success")
            else:
                flash(_("Thank you: your claim will be reviewed."), "warning")
            return redirect(url_for("claims.my_claims"))
    colleagues = db.scalars(
        select(Person)
        .where(
            Person.partner_id == current_user.partner_id,
            Person.id != current_user.id,
            Person.active.is_(True),
        )
        .order_by(Person.full_name)
    ).all()
    products = db.scalars(
        select(Product).where(Product.active.is_(True)).order_by(Product.sku)
    ).all()
    return render_template(
        "channel/claim_form.html",
        kind=kind,
        errors=errors,
        values=request.form,
        colleagues=colleagues,
        products=products,
        rows=range(LINE_ROWS),
        today=utcnow().date(),
    ), 400 if errors else 200


@bp.route("/claims/<int:claim_id>/photo")
@requires(Permission.VIEW_PARTNERS)
def claim_photo(claim_id):
    """The proof of a claim: for the claimant, their company's managers and the reviewers."""
    claim = get_session().get(Claim, claim_id)
    allowed = (
        claim is not None
        and claim.photo
        and (
            claim.person_id == current_user.id
            or current_user.can(Permission.REVIEW_CLAIMS)
            or (
                current_user.can(Permission.VIEW_PARTNER_EARNINGS)
                and current_user.partner_id == claim.partner_id
            )
        )
    )
    if not allowed:
        abort(404)
    try:
        path = proof_path(current_app.config["UPLOAD_FOLDER"], claim.photo)
    except FileNotFoundError:
        abort(404)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=claim.photo_type, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/claims/mine")
@requires(Permission.SUBMIT_CLAIMS)
def my_claims():
    claims = (
        get_session()
        .scalars(
            select(Claim)
            .where(Claim.person_id == current_user.id)
            .options(selectinload(Claim.lines))
            .order_by(Claim.id.desc())
            .limit(100)
        )
        .all()
    )
    return render_template("channel/my_claims.html", claims=claims)


@bp.route("/claims/review")
@requires(Permission.REVIEW_CLAIMS)
def review_queue():
    claims = (
        get_session()
        .scalars(
            select(Claim)
            .where(Claim.status == "pending")
            .options(selectinload(Claim.lines), selectinload(Claim.person))
            .order_by(Claim.id)
        )
        .all()
    )
    return render_template("channel/claim_review.html", claims=claims)


@bp.route("/claims/<int:claim_id>/<any(approve, reject, return):action>", methods=["POST"])
@requires(Permission.REVIEW_CLAIMS)
def decide_claim(claim_id, action):
    claim = get_session().get(Claim, claim_id) or abort(404)
    reason = request.form.get("reason", "")
    steps = {
        "approve": lambda db: approve_claim(
            db, claim, actor_id=current_user.id, return_window=_return_window()
        ),
        "reject": lambda db: reject_claim(db, claim, actor_id=current_user.id, reason=reason),
        "return": lambda db: return_claim(db, claim, actor_id=current_user.id),
    }
    attempt(steps[action], done=_("Done."))
    return redirect(url_for("claims.review_queue"))


@bp.route("/claims/import", methods=["GET", "POST"])
@requires(Permission.REVIEW_CLAIMS)
def sales_import():
    """The same sell-out import as `flask import-sales`, from the browser, with a per-line report."""
    db = get_session()
    report, error, report_token = None, None, None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = _("Choose a CSV or XLSX file.")
        else:
            try:
                rows = list(read_sales(upload.read(), current_app.config["IMPORT_MAX_ROWS"]))
                report = import_sales(
                    db,
                    rows,
                    region=current_app.config["DEFAULT_PHONE_REGION"],
                    today=utcnow().date(),
                    return_window=timedelta(days=current_app.config["RETURN_WINDOW_DAYS"]),
                )
            except UnreadableSalesFile as unreadable:
                db.rollback()
                error = str(unreadable.args[0])
            else:
                db.commit()
                report_token = _keep_full_report(report.rejected)
    return render_template(
        "channel/sales_import.html",
        report=report,
        error=error,
        report_token=report_token,
        page_lines=REPORT_PAGE_LINES,
    ), (400 if error else 200)


def _keep_full_report(rejected) -> str | None:
    """The token of the downloadable list of refused lines (None when there are none, or
    when it cannot be written: the page still lists the first of them)."""
    if not rejected:
        return None
    try:
        return keep_report(
            current_app.config["UPLOAD_FOLDER"], current_user.id, [_("Line"), _("Why")], rejected
        )
    except OSError as failure:
        current_app.logger.error("import report not kept: %s", failure.strerror or failure)
        return None


@bp.route("/partners/<int:partner_id>/claims")
@requires(Permission.VIEW_PARTNER_EARNINGS)
def partner_claims(partner):
    claims = (
        get_session()
        .scalars(
            select(Claim)
            .where(Claim.partner_id == partner.id)
            .options(selectinload(Claim.lines), selectinload(Claim.person))
            .order_by(Claim.id.desc())
            .limit(200)
        )
        .all()
    )
    return render_template("channel/partner_claims.html", partner=partner, claims=claims)
