"""The channel manager's and the partner manager's dashboards, and their CSV/XLSX exports."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

from flask import Blueprint, abort, current_app, render_template, request

from channel import channel_dashboard as cd
from channel import dashboards as d
from channel import exports
from channel import partner_dashboard as pd
from channel.labels import claim_flag, claim_status, role_label
from channel.postings import pool_account
from core.db import reading, utcnow
from core.i18n import country_name, format_month
from core.views import id_argument
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("dashboards", __name__)

#: At most this many months on the engagement chart.
MAX_MONTHS = 24


@dataclass(frozen=True)
class Window:
    """The period asked for in the query string: [start, end), and its calendar months."""

    first_day: date
    last_day: date
    start: datetime
    end: datetime
    months: list[d.Month]


#: A period is read within these years; a day outside (up to date's own limits, where a
#: month or a day later does not exist) is ignored as unreadable.
YEARS = (1900, 2999)


def _day(name: str) -> date | None:
    try:
        day = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    return day if YEARS[0] <= day.year <= YEARS[1] else None


def _window() -> Window:
    # UTC days on purpose: the dashboards count the ledger's UTC months (core.months), and a
    # period read in each viewer's zone would give two managers two different totals.
    today = utcnow().date()
    last_day = _day("to") or today
    months = d.last_months(last_day)
    first_day = _day("from") or months[0].start.date()
    if first_day > last_day:
        first_day, last_day = last_day, first_day
    months = [m for m in d.last_months(last_day, MAX_MONTHS) if m.end.date() > first_day]
    start = datetime.combine(first_day, time.min, tzinfo=UTC)
    end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=UTC)
    return Window(first_day, last_day, start, end, months)


def _filters(partner_id: int | None = None) -> d.Filters:
    program = id_argument("program")
    country = (request.args.get("country") or "").strip().upper()[:2] or None
    if partner_id is None:
        partner_id = id_argument("partner")
    return d.Filters(program_id=program, partner_id=partner_id, country=country)


def _point_value():
    return current_app.config["POINT_VALUE"], current_app.config["POINT_CURRENCY"]


def _month_label(month: d.Month) -> str:
    return format_month(month.start.date())


def _engagement_line(window: Window, rows) -> list[tuple]:
    shares = {r.month: r.share for r in rows}
    return [(_month_label(m), shares.get(m.key)) for m in window.months]


@bp.route("/dashboard")
@requires(Permission.VIEW_CHANNEL_DASHBOARD)
def channel_dashboard():
    window, filters = _window(), _filters()
    value, currency = _point_value()
    figures = cd.page_figures(reading(), window.start, window.end, window.months, value, filters)
    shown = {name: read() for name, read in figures.items()}
    choices, points, budgets = (
        shown["filter choices"],
        shown["points and liability"],
        shown["budget use"],
    )
    claims = shown["claims by status and flag"]
    names = dict(choices.partners)
    by_partner = sorted(shown["engagement by partner"], key=lambda r: (-r.enrolled, r.group))[
        : cd.TOP
    ]
    rows = {
        "engagement": _engagement_line(window, shown["engagement by month"]),
        "role": [(role_label(r.group), r.share) for r in shown["engagement by role"]],
        "country": [(country_name(r.group), r.share) for r in shown["engagement by country"]],
        "partner": [(names.get(r.group, r.group), r.share) for r in by_partner],
        "issued": [
            (_month_label(d.month_of(date.fromisoformat(key + "-01"))), flows["issued"])
            for key, flows in sorted(points.by_month.items())
        ],
        "budget": [(u.name, u.share) for u in budgets if u.budget_points],
        "status": [(claim_status(s), n) for s, n in sorted(claims.by_status.items())],
        "flags": [(claim_flag(f), n) for f, n in claims.by_flag.items()],
        "top_partners": [(p.name, p.points) for p in shown["top partners"]],
        "top_people": [(p.name, p.points) for p in shown["top people"]],
    }
    return render_template(
        "channel/dashboard.html",
        window=window,
        filters=filters,
        currency=currency,
        partners=choices.partners,
        countries=choices.countries,
        programs=choices.programs,
        rows=rows,
        points=points,
        budgets=budgets,
        training=shown["training completion"],
        export_args=_export_args(),
    )


def _export_args() -> dict:
    return {
        k: v
        for k, v in request.args.items()
        if k in ("from", "to", "program", "partner", "country")
    }


CHANNEL_TABLES = (
    "engagement",
    "engagement-role",
    "engagement-partner",
    "engagement-country",
    "points",
    "budget",
    "claims",
    "partners",
    "people",
    "ledger",
)


@bp.route("/dashboard/export/<table>.<fmt>")
@requires(Permission.VIEW_CHANNEL_DASHBOARD)
def channel_export(table, fmt):
    if table not in CHANNEL_TABLES or fmt not in exports.FORMATS:
        abort(404)
    window, filters = _window(), _filters()
    period = {"start": window.start, "end": window.end, "filters": filters}
    if table.startswith("engagement"):
        by = table.partition("-")[2] or None
        build = partial(exports.engagement_table, months=window.months, filters=filters, by=by)
    elif table == "points":
        build = partial(exports.points_table, point_value=_point_value()[0], **period)
    elif table == "budget":
        build = partial(exports.budget_table, filters=filters)
    elif table == "claims":
        build = partial(exports.claims_table, **period)
    elif table in ("partners", "people"):
        build = partial(exports.leaders_table, people=table == "people", **period)
    else:
        build = partial(exports.ledger_table, **period)
    return exports.download(build, fmt, table)


# ---------------------------------------------------------------- the partner manager's


@bp.route("/partners/<int:partner_id>/dashboard")
@requires(Permission.VIEW_PARTNER_EARNINGS)
def partner_dashboard(partner):
    window = _window()
    figures = pd.page_figures(reading(), partner, window.start, window.end, window.months, utcnow())
    shown = {name: read() for name, read in figures.items()}
    return render_template(
        "channel/dashboard_partner.html",
        partner=partner,
        window=window,
        rows={
            "engagement": _engagement_line(window, shown["engagement by month"]),
            "role": [(role_label(r.group), r.share) for r in shown["engagement by role"]],
        },
        earnings=shown["staff earnings"],
        pool=shown["pool"],
        distributions=shown["recent distributions"],
        pending=shown["pending approvals"],
        tier=shown["tier progress"],
        benefits=shown["tier benefits"],
        rebates=shown["rebate outlook"],
        export_args={k: v for k, v in _export_args().items() if k in ("from", "to")},
    )


PARTNER_TABLES = ("staff", "engagement-role", "pool")


@bp.route("/partners/<int:partner_id>/dashboard/export/<table>.<fmt>")
@requires(Permission.VIEW_PARTNER_EARNINGS)
def partner_export(partner, table, fmt):
    if table not in PARTNER_TABLES or fmt not in exports.FORMATS:
        abort(404)
    window = _window()
    if table == "staff":
        build = partial(
            exports.staff_table, partner_id=partner.id, start=window.start, end=window.end
        )
    elif table == "engagement-role":
        filters = d.Filters(partner_id=partner.id)
        build = partial(exports.engagement_table, months=window.months, filters=filters, by="role")
    else:
        account = pool_account(partner.id)
        build = partial(exports.ledger_table, start=window.start, end=window.end, account=account)
    return exports.download(build, fmt, f"{table}-{partner.id}")
