"""Claims on the web: staff claim from a phone, reviewers decide, partner managers watch."""

from datetime import timedelta

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

from channel.catalog import active_products
from channel.claim_models import Claim, ClaimKind, ClaimStatus
from channel.claim_reading import product_lines
from channel.claims import (
    ClaimDetails,
    approve_claim,
    claims_of_partner,
    claims_of_person,
    claims_to_review,
    referred_partner_id,
    reject_claim,
    return_claim,
    submit_claim,
)
from channel.forms import (
    LINE_ROWS,
    ClaimDecisionForm,
    ClaimForm,
    SalesImportForm,
    field_errors,
    typed_values,
)
from channel.home import claim_kinds
from channel.points_history import points_of_claims
from channel.sales_import import import_sales_file
from channel.staff import active_staff
from channel.uploads import proof_path, proofs_kept_on_success
from core.db import get_session, utcnow
from core.import_reports import REPORT_PAGE_LINES
from core.report_views import keep_refused_lines
from core.views import MAX_ID, attempt
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("claims", __name__)


def _return_window() -> timedelta:
    return timedelta(days=current_app.config["RETURN_WINDOW_DAYS"])


def _details(db, kind: str, form: ClaimForm) -> ClaimDetails:
    shares = {}
    colleague = form.share_person.data
    if colleague is not None and not 0 < colleague <= MAX_ID:
        colleague = -1  # an id no column holds: refused as a stranger, never sent to the database
    percent = form.share_percent.data
    if colleague and percent:
        shares = {current_user.id: 100 - percent, colleague: percent}
    return ClaimDetails(
        referred_partner_id=referred_partner_id(db, form.referred_legal_id.data, current_user)
        if kind == ClaimKind.REFERRAL
        else None,
        kind=kind,
        occurred_on=form.occurred_on.data,
        lines=form.product_lines(),
        invoice_number=form.invoice_number.data,
        amount=form.amount.data,
        due_on=form.due_on.data,
        serial=form.serial.data,
        site=form.site.data,
        shares=shares,
    )


@bp.route(
    "/claims/new/<any(sale, install, referral, order, payment):kind>", methods=["GET", "POST"]
)
@requires(Permission.SUBMIT_CLAIMS)
def claim_new(kind):
    form = ClaimForm()
    refused = False
    if request.method == "POST":
        with proofs_kept_on_success(current_app.config["UPLOAD_FOLDER"]) as store:

            def claim(db):
                details = _details(db, kind, form)
                if form.photo.data is not None:
                    details.photos = [store(form.photo.data.read())]
                return submit_claim(
                    db,
                    current_user,
                    details,
                    today=current_user.day_at(utcnow()),
                    return_window=_return_window(),
                )

            submitted = attempt(claim, form=form)
            if not submitted:
                store.discard()
        if submitted and submitted.result.status == ClaimStatus.APPROVED:
            flash(_("Thank you: your claim is approved."), "success")
        elif submitted:
            flash(_("Thank you: your claim will be reviewed."), "warning")
        if submitted:
            return redirect(url_for("claims.my_claims"))
        refused = True
    db = get_session()
    return render_template(
        "channel/claim_form.html",
        kind=kind,
        errors=field_errors(form),
        values=typed_values(form),
        colleagues=active_staff(db, current_user.partner_id, besides=current_user.id),
        products=active_products(db),
        rows=range(LINE_ROWS),
        # The claimant's own day: at 00:30 in Jerusalem, today there is tomorrow in UTC.
        today=current_user.day_at(utcnow()),
    ), 400 if refused else 200


@bp.route("/claims/<int:claim_id>/photos/<int:position>")
@requires(Permission.VIEW_PARTNERS)
def claim_photo(claim_id, position):
    """A proof of a claim: for the claimant, their company's managers and the reviewers."""
    claim = get_session().get(Claim, claim_id)
    photo = next((p for p in claim.photos if p.position == position), None) if claim else None
    allowed = photo is not None and (
        claim.person_id == current_user.id
        or current_user.can(Permission.REVIEW_CLAIMS)
        or (
            current_user.can(Permission.VIEW_PARTNER_EARNINGS)
            and current_user.partner_id == claim.partner_id
        )
    )
    if not allowed:
        abort(404)
    try:
        path = proof_path(current_app.config["UPLOAD_FOLDER"], photo.name)
    except FileNotFoundError:
        abort(404)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=photo.mime_type, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/claims/mine")
@requires(Permission.SUBMIT_CLAIMS)
def my_claims():
    db = get_session()
    claims = claims_of_person(db, current_user.id)
    return render_template(
        "channel/my_claims.html",
        claims=claims,
        points=points_of_claims(db, current_user.id, [c.id for c in claims]),
        kinds=claim_kinds(current_user.roles),
    )


@bp.route("/claims/review")
@requires(Permission.REVIEW_CLAIMS)
def review_queue():
    return render_template("channel/claim_review.html", claims=claims_to_review(get_session()))


@bp.route("/claims/<int:claim_id>/<any(approve, reject, return):action>", methods=["POST"])
@requires(Permission.REVIEW_CLAIMS)
def decide_claim(claim_id, action):
    claim = get_session().get(Claim, claim_id) or abort(404)
    decision = ClaimDecisionForm()
    reason = decision.reason.data
    steps = {
        "approve": lambda db: approve_claim(
            db,
            claim,
            actor_id=current_user.id,
            return_window=_return_window(),
            serial=decision.serial.data,
            invoice_number=decision.invoice_number.data,
            lines=product_lines(decision.lines.data),
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
    form = SalesImportForm()
    report, error, report_token = None, None, None
    if request.method == "POST":
        if form.file.data is None:
            error = _("Choose a CSV or XLSX file.")
        else:
            imported = attempt(
                lambda db: import_sales_file(
                    db,
                    form.file.data.read(),
                    max_rows=current_app.config["IMPORT_MAX_ROWS"],
                    now=utcnow(),
                    return_window=_return_window(),
                ),
                form=form,
            )
            if imported:
                report = imported.result
                report_token = keep_refused_lines(report.rejected)
            else:
                error = field_errors(form).get("file")
    return render_template(
        "channel/sales_import.html",
        report=report,
        error=error,
        report_token=report_token,
        page_lines=REPORT_PAGE_LINES,
    ), (400 if error else 200)


@bp.route("/partners/<int:partner_id>/claims")
@requires(Permission.VIEW_PARTNER_EARNINGS)
def partner_claims(partner):
    claims = claims_of_partner(get_session(), partner.id)
    return render_template("channel/partner_claims.html", partner=partner, claims=claims)
