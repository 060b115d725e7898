"""Exports: every dashboard table as CSV and XLSX; the ledger's totals reconcile to the balances."""

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook

from channel import channel_dashboard as cd
from channel.postings import Line, person_account, post
from roles.permissions import Role
from tests.builders import login_as
from tests.channel.conftest import OCT_KEY, SEPT, SEPT_KEY

EVERY_DAY = {"from": "2000-01-01", "to": "2100-01-01"}


def _csv(response):
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def _xlsx(response):
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


def _reconciles(rows, db):
    header, *rows = rows
    points = header.index("points")
    kind = header.index("kind")
    entries = [r for r in rows if r[0] not in ("", None)]
    totals = {r[kind]: int(r[points]) for r in rows if r[0] in ("", None)}
    listed = sum(int(r[points]) for r in entries)
    assert totals["closing_balance"] == totals["opening_balance"] + listed
    assert totals["closing_balance"] == cd.balances_total(db) == 530
    for name in ("earn", "redeem", "expire"):
        assert totals[f"total_{name}"] == sum(int(r[points]) for r in entries if r[kind] == name)
    return entries


def test_the_ledger_csv_lists_every_entry_and_totals_that_reconcile(client, db, world, known):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    rows = _csv(client.get("/dashboard/export/ledger.csv", query_string=EVERY_DAY))
    assert len(_reconciles(rows, db)) == 5


def test_the_ledger_xlsx_reconciles_too(client, db, world, known):
    login_as(client, world.people[Role.ADMIN])
    rows = _xlsx(client.get("/dashboard/export/ledger.xlsx", query_string=EVERY_DAY))
    assert len(_reconciles(rows, db)) == 5


def test_a_partner_filtered_ledger_starts_from_its_opening_balance(client, db, world, known):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    query = {"from": "2000-01-01", "to": "2100-01-01", "partner": known.riga.id}
    header, *rows = _csv(client.get("/dashboard/export/ledger.csv", query_string=query))
    closing = [r for r in rows if r[5] == "closing_balance"][0]
    assert int(closing[6]) == 430


def test_points_and_budget_exports_carry_the_dashboard_figures(client, db, world, known):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    rows = _xlsx(client.get("/dashboard/export/points.xlsx", query_string=EVERY_DAY))
    figures = {r[0]: r[1] for r in rows[1:]}
    assert figures["outstanding"] == 530
    assert Decimal(str(figures["liability"])) == Decimal("5.30")
    assert figures["total"] == 600
    budget = _csv(client.get("/dashboard/export/budget.csv"))
    row = next(r for r in budget if r[0] == str(known.program.id))
    assert row[2:6] == ["1000", "600", "60.0", "6.00"]


def test_engagement_exports_per_role_in_both_formats(client, world, known):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    query = {"from": SEPT.date().replace(day=1).isoformat()}
    rows = _csv(client.get("/dashboard/export/engagement-role.csv", query_string=query))
    assert rows[0] == ["month", "role", "enrolled", "active", "percent"]
    assert [OCT_KEY, "seller", "3", "2", "66.7"] in rows
    sheet = _xlsx(client.get("/dashboard/export/engagement-role.xlsx", query_string=query))
    assert [SEPT_KEY, "technician", 1, 1, 100] in [r[:4] + [int(r[4])] for r in sheet[1:]]


def test_an_unknown_table_or_format_answers_404(client, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    assert client.get("/dashboard/export/secrets.csv").status_code == 404
    assert client.get("/dashboard/export/ledger.pdf").status_code == 404


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(client, db, world, known):
    post(
        db,
        "known:formula",
        [
            Line(
                account=person_account(known.s1.id),
                points=-1,
                kind="redeem",
                partner_id=known.riga.id,
                person_id=known.s1.id,
                memo='=HYPERLINK("http://evil.example")',
            )
        ],
    )
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    body = client.get("/dashboard/export/ledger.csv", query_string=EVERY_DAY).get_data(as_text=True)
    assert "'=HYPERLINK" in body


def test_a_partner_manager_exports_their_staff_earnings_and_pool(client, known):
    login_as(client, known.manager)
    base = f"/partners/{known.riga.id}/dashboard/export"
    rows = _csv(client.get(f"{base}/staff.csv", query_string=EVERY_DAY))
    assert [r[2:] for r in rows[1:]] == [["seller", "1", "300"], ["technician", "1", "200"]]
    assert _xlsx(client.get(f"{base}/pool.xlsx", query_string=EVERY_DAY))[0][0] == "entry_id"
    other = f"/partners/{known.warsaw.id}/dashboard/export/staff.csv"
    assert client.get(other).status_code == 404


def test_engagement_by_partner_names_each_partner(client, world, known):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    query = {"from": SEPT.date().replace(day=1).isoformat()}
    rows = _csv(client.get("/dashboard/export/engagement-partner.csv", query_string=query))
    assert rows[0] == ["month", "partner_id", "partner", "enrolled", "active", "percent"]
    assert [OCT_KEY, str(known.warsaw.id), "Warsaw Heat", "1", "1", "100.0"] in rows
