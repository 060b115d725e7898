"""The purchase and rebate pages: purchases and rates in, periods closed, statements out."""

from flask import Blueprint, abort, current_app, flash, render_template
from flask_login import current_user

from channel.exchange_rates import import_rates
from channel.exports import csv_chunks
from channel.purchase_forms import ClosePeriodForm, UploadForm
from channel.purchase_import import import_purchases, import_serials, read_purchases, read_serials
from channel.rebate_documents import (
    FontMissing,
    credit_memo_table,
    rule_label,
    statement_pdf,
    statement_table,
)
from channel.rebate_reports import (
    closed_periods,
    later_true_ups,
    outlook,
    partner_statements,
    period_statements,
    statement_with_lines,
)
from channel.rebates import close_period
from core.db import get_session, utcnow
from core.i18n import plural_text
from core.import_reports import REPORT_PAGE_LINES
from core.report_views import keep_refused_lines
from core.views import attempt
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("rebates", __name__)
bp.add_app_template_global(rule_label, "rebate_rule")


@bp.route("/purchases/import", methods=["GET", "POST"])
@requires(Permission.MANAGE_REBATES)
def purchases_import():
    """The same import as `flask import-purchases`, with its report on the page."""
    return _import_page(
        "channel/purchases_import.html",
        lambda db, data, limit: import_purchases(
            db, list(read_purchases(data, limit)), today=utcnow().date()
        ),
    )


@bp.route("/purchases/serials", methods=["GET", "POST"])
@requires(Permission.MANAGE_REBATES)
def serials_import():
    """Serial lists from the manufacturer's warehouse, without invoice lines."""
    return _import_page(
        "channel/serials_import.html",
        lambda db, data, limit: import_serials(
            db, list(read_serials(data, limit)), today=utcnow().date()
        ),
    )


def _import_page(template: str, run):
    """An upload page: the file imported by `run(db, data, max_rows)`, its report shown."""
    form = UploadForm()
    done = None
    if form.validate_on_submit():
        data = form.file.data.read()
        limit = current_app.config["IMPORT_MAX_ROWS"]
        done = attempt(lambda db: run(db, data, limit), form=form)
    report = done.result if done else None
    return render_template(
        template,
        form=form,
        report=report,
        report_token=keep_refused_lines(report.rejected) if report else None,
        page_lines=REPORT_PAGE_LINES,
    ), (400 if form.errors else 200)


@bp.route("/purchases/rates", methods=["GET", "POST"])
@requires(Permission.MANAGE_REBATES)
def rates_import():
    form = UploadForm()
    done = None
    if form.validate_on_submit():
        data = form.file.data.read()
        done = attempt(lambda db: import_rates(db, data), form=form)
    return render_template(
        "channel/rates_import.html", form=form, report=done.result if done else None
    ), (400 if form.errors else 200)


@bp.route("/rebates", methods=["GET", "POST"])
@requires(Permission.MANAGE_REBATES)
def periods():
    """Closed periods, and the form that closes one."""
    form = ClosePeriodForm()
    if form.validate_on_submit():
        done = attempt(
            lambda db: close_period(
                db, form.period.data, today=utcnow().date(), actor_id=current_user.id
            ),
            form=form,
        )
        if done:
            closed = done.result
            flash(
                " ".join(
                    (
                        plural_text(
                            "%(num)s statement written.",
                            "%(num)s statements written.",
                            len(closed.statements),
                        ),
                        plural_text(
                            "%(num)s statement was already closed.",
                            "%(num)s statements were already closed.",
                            closed.already_closed,
                        ),
                        plural_text(
                            "%(num)s purchase line held for want of an exchange rate.",
                            "%(num)s purchase lines held for want of an exchange rate.",
                            len(closed.held),
                        ),
                    )
                ),
                "success",
            )
    return render_template(
        "channel/rebate_periods.html", form=form, periods=closed_periods(get_session())
    ), (400 if form.errors else 200)


@bp.route("/rebates/<period>")
@requires(Permission.MANAGE_REBATES)
def period_detail(period):
    statements = period_statements(get_session(), period)
    if not statements:
        abort(404)
    return render_template(
        "channel/rebate_period.html", period=statements[0].period, statements=statements
    )


@bp.route("/rebates/<period>/credit-memos.csv")
@requires(Permission.MANAGE_REBATES)
def credit_memos(period):
    statements = period_statements(get_session(), period)
    if not statements:
        abort(404)
    return _csv(credit_memo_table(statements[0].period, statements))


@bp.route("/rebates/mine")
@requires(Permission.VIEW_OWN_REBATES)
def my_rebates():
    db = get_session()
    partner = current_user.partner
    return render_template(
        "channel/my_rebates.html",
        # A rebate quarter is a UTC period (its close pays on UTC days), not the reader's.
        outlooks=outlook(db, partner, utcnow().date()),
        statements=partner_statements(db, partner.id),
    )


@bp.route("/rebates/statements/<int:statement_id>")
@bp.route("/rebates/statements/<int:statement_id>.<any(csv, pdf):file_format>")
@requires(Permission.VIEW_PARTNERS)
def statement(statement_id, file_format=None):
    """A statement: for the manufacturer's rebate managers and the partner's own managers."""
    found = statement_with_lines(get_session(), statement_id)
    if found is None or not _may_read(found):
        abort(404)
    if file_format == "csv":
        return _csv(statement_table(found))
    if file_format == "pdf":
        try:
            pdf = statement_pdf(found, current_app.config["PDF_FONT"])
        except FontMissing:
            current_app.logger.error("PDF font missing: %s", current_app.config["PDF_FONT"])
            abort(503)
        return current_app.response_class(
            pdf,
            mimetype="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{found.reference}.pdf"',
                "Cache-Control": "private, no-store",
            },
        )
    return render_template(
        "channel/rebate_statement.html",
        statement=found,
        true_ups=later_true_ups(get_session(), found),
    )


def _may_read(statement) -> bool:
    if current_user.can(Permission.MANAGE_REBATES):
        return True
    return (
        current_user.can(Permission.VIEW_OWN_REBATES)
        and current_user.partner_id == statement.partner_id
    )


def _csv(table):
    return current_app.response_class(
        csv_chunks(table),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{table.name}.csv"',
            "Cache-Control": "private, no-store",
        },
    )
