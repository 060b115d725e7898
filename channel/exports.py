"""Dashboard tables and the ledger as CSV (streamed row by row) and XLSX (openpyxl, write-only).

A table is a header row and an iterable of rows of plain values; both formats read the same
rows. Column names are stable identifiers, the same in every language, so that finance can
build on them. The ledger export ends with totals that reconcile: the opening balance plus
every entry listed equals the closing balance, which for the whole ledger equals the sum of
every account's balance.
"""

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import send_file
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channel import channel_dashboard as cd
from channel import dashboards as d
from channel import partner_dashboard as pd
from channel import tax
from channel.ledger import LedgerEntry
from channel.partner_models import PartnerOrganization
from core.db import read_session, utcnow
from core.streaming import streamed_response
from core.tables import inert

FORMATS = ("csv", "xlsx")


@dataclass
class Table:
    name: str
    header: list[str]
    rows: Iterable[list]


def download(build, fmt: str, filename: str):
    """`build(session)`'s table (or tables, for XLSX) as a download, read in a session of its
    own in one snapshot: streamed as CSV while the client reads it, or saved as XLSX first."""
    stamp = utcnow().strftime("%Y%m%d")
    if fmt == "csv":
        return streamed_response(
            lambda session: csv_chunks(build(session)),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}-{stamp}.csv"'},
        )
    with read_session() as session:
        tables = build(session)
        workbook = xlsx_file(tables if isinstance(tables, list) else [tables])
    return send_file(
        workbook,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"{filename}-{stamp}.xlsx",
    )


def _cell(value):
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    return inert(value)


def csv_chunks(table: Table) -> Iterator[str]:
    """The table as CSV text, a row at a time, for a streamed response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow([_csv_value(v) for v in row])
        if buffer.tell() > 16384:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _csv_value(value):
    value = _cell(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return value


def xlsx_file(tables: list[Table]):
    """The tables as one workbook, a sheet each, in a temporary file (rewound, to send)."""
    workbook = Workbook(write_only=True)
    for table in tables:
        sheet = workbook.create_sheet(table.name[:31])
        sheet.append(table.header)
        for row in table.rows:
            sheet.append([_cell(v) for v in row])
    # Returned open: the response that sends it closes it.
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    workbook.save(spool)
    spool.seek(0)
    return spool


# ---------------------------------------------------------------- the tables


def engagement_table(session: Session, months, filters, by: str | None) -> Table:
    names = {}
    if by == "partner":
        names = dict(
            session.execute(select(PartnerOrganization.id, PartnerOrganization.name)).all()
        )
    rows = (
        [
            r.month,
            r.group if r.group is not None else "",
            *([names.get(r.group, "")] if by == "partner" else []),
            r.enrolled,
            r.active,
            r.share,
        ]
        for r in d.engagement(session, months, filters, by=by)
    )
    header = ["month", "partner_id" if by == "partner" else (by or "group")]
    header += [*(["partner"] if by == "partner" else []), "enrolled"]
    return Table("engagement", [*header, "active", "percent"], rows)


def points_table(session: Session, start, end, point_value: Decimal, filters) -> Table:
    summary = cd.points_summary(session, start, end, point_value, filters)
    rows = [
        [month, f["issued"], f["reversed"], f["redeemed"], f["expired"]]
        for month, f in sorted(summary.by_month.items())
    ]
    rows.append(["total", summary.issued, summary.reversed, summary.redeemed, summary.expired])
    rows.append(["outstanding", summary.outstanding, "", "", ""])
    rows.append(["pending_fulfilment", summary.pending_fulfilment, "", "", ""])
    rows.append(["liability", summary.liability, "", "", ""])
    return Table("points", ["month", "issued", "reversed", "redeemed", "expired"], rows)


def budget_table(session: Session, filters) -> Table:
    rows = (
        [
            u.program_id,
            u.name,
            u.budget_points if u.budget_points is not None else "",
            u.used_points,
            u.share if u.share is not None else "",
            u.used_money,
            u.currency,
        ]
        for u in cd.budget_use(session, filters)
    )
    header = [
        "program_id",
        "program",
        "budget_points",
        "used_points",
        "percent",
        "used",
        "currency",
    ]
    return Table("budget", header, rows)


def claims_table(session: Session, start, end, filters) -> Table:
    figures = cd.claim_figures(session, start, end, filters)
    rows = [["status", k, v] for k, v in sorted(figures.by_status.items())]
    rows += [["flag", k, v] for k, v in figures.by_flag.items()]
    return Table("claims", ["kind", "name", "claims"], rows)


def leaders_table(session: Session, start, end, filters, people: bool) -> Table:
    leaders = (cd.top_people if people else cd.top_partners)(
        session, start, end, filters, limit=None
    )
    rows = ([leader.id, leader.name, leader.partner, leader.points] for leader in leaders)
    name = "people" if people else "partners"
    return Table(name, ["id", "name", "partner", "points"], rows)


def staff_table(session: Session, partner_id: int, start, end) -> Table:
    rows = (
        [r.program_id, r.program, r.role, r.people, r.points]
        for r in pd.staff_earnings(session, partner_id, start, end)
    )
    return Table("staff", ["program_id", "program", "role", "people", "points"], rows)


def tax_table(session: Session, partner_id: int, year: int, valuation) -> Table:
    """Rewards each of the partner's people received in `year`, for payroll."""
    return Table(
        f"rewards-{year}", tax.TAX_HEADER, tax.tax_rows(session, partner_id, year, valuation)
    )


LEDGER_HEADER = [
    "entry_id",
    "created_at",
    "posting_key",
    "account",
    "bucket",
    "kind",
    "points",
    "budget_points",
    "money",
    "program_id",
    "partner_id",
    "partner",
    "person_id",
    "memo",
]


def ledger_table(
    session: Session, start: datetime, end: datetime, filters=None, *, account=None
) -> Table:
    """Every entry written in [start, end) under the filters, oldest first, then the totals:
    opening balance, each kind's sum, closing balance (opening plus every entry listed)."""
    filters = filters or d.EVERYTHING
    columns = (
        LedgerEntry.id,
        LedgerEntry.created_at,
        LedgerEntry.posting_key,
        LedgerEntry.account_key,
        LedgerEntry.bucket,
        LedgerEntry.kind,
        LedgerEntry.points,
        LedgerEntry.budget_points,
        LedgerEntry.money,
        LedgerEntry.program_id,
        LedgerEntry.partner_id,
        PartnerOrganization.name,
        LedgerEntry.person_id,
        LedgerEntry.memo,
    )
    # Plain rows, not ORM objects: a million of them stream in seconds.
    stmt = d.ledger_filters(
        select(*columns)
        .join(PartnerOrganization, PartnerOrganization.id == LedgerEntry.partner_id)
        .where(LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
        .order_by(LedgerEntry.id),
        filters,
    )
    if account is not None:
        stmt = stmt.where(LedgerEntry.account_key == account)
    kind_at, points_at = LEDGER_HEADER.index("kind"), LEDGER_HEADER.index("points")

    def rows():
        opening = _sum_before(session, start, filters, account)
        totals: dict[str, int] = {}
        for row in session.execute(stmt.execution_options(yield_per=5000)):
            totals[row[kind_at]] = totals.get(row[kind_at], 0) + row[points_at]
            yield ["" if value is None else value for value in row]
        blank = [""] * (len(LEDGER_HEADER) - 7)
        yield ["", "", "", "", "", "opening_balance", opening, *blank]
        for kind in sorted(totals):
            yield ["", "", "", "", "", f"total_{kind}", totals[kind], *blank]
        yield ["", "", "", "", "", "closing_balance", opening + sum(totals.values()), *blank]

    return Table("ledger", LEDGER_HEADER, rows())


def _sum_before(session, at, filters, account) -> int:
    stmt = d.ledger_filters(
        select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(LedgerEntry.created_at < at),
        filters,
    )
    if account is not None:
        stmt = stmt.where(LedgerEntry.account_key == account)
    return int(session.scalar(stmt))
