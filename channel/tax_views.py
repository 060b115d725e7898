"""Rewards each of a partner's people received in a year, for payroll: a page and its exports.

A partner manager reaches only their own partner's (another partner's answers 404, by
`requires`); the manufacturer's people reach every partner's.
"""

from functools import partial

from flask import Blueprint, abort, current_app, render_template, request

from channel import exports
from channel.tax import YEARS, Valuation, received_in
from core.db import get_session, utcnow
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("tax", __name__)

#: Years the page offers to choose from, this one included.
YEARS_OFFERED = 5


def _valuation() -> Valuation:
    return Valuation(current_app.config["POINT_VALUE"], current_app.config["POINT_CURRENCY"])


def _year() -> int:
    """The year asked for; this year when none, or one that is no year, is asked for."""
    this_year = utcnow().year
    try:
        year = int(request.args.get("year", this_year))
    except ValueError:
        return this_year
    return year if YEARS[0] <= year <= YEARS[1] else this_year


@bp.route("/partners/<int:partner_id>/tax")
@requires(Permission.VIEW_PARTNER_EARNINGS)
def tax_report(partner):
    year, valuation = _year(), _valuation()
    this_year = utcnow().year
    return render_template(
        "channel/tax_report.html",
        partner=partner,
        year=year,
        years=sorted({year, *range(this_year - YEARS_OFFERED + 1, this_year + 1)}, reverse=True),
        rows=list(received_in(get_session(), partner.id, year, valuation)),
        formats=exports.FORMATS,
    )


@bp.route("/partners/<int:partner_id>/tax/<int:year>.<fmt>")
@requires(Permission.VIEW_PARTNER_EARNINGS)
def tax_export(partner, year, fmt):
    if fmt not in exports.FORMATS or not YEARS[0] <= year <= YEARS[1]:
        abort(404)
    build = partial(exports.tax_table, partner_id=partner.id, year=year, valuation=_valuation())
    return exports.download(build, fmt, f"rewards-{partner.id}-{year}")
