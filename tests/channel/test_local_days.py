"""Days and times are the person's own: at 00:30 in Jerusalem or Riga a claim is today's
there (already tomorrow in UTC), its form offers that day and refuses the next, and the
earnings page shows a claimed day as a day and a real moment on the reader's clock."""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from channel.claim_models import Claim
from channel.programs import launch_program
from channel.sales_import import import_sales
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    login_as,
    make_api_token,
    make_group,
    make_product,
    make_program,
    offer,
    record,
    utc_today,
)

#: Where people stand: Israel and Latvia, both ahead of UTC, so that their midnight comes
#: while UTC is still on the day before.
ZONES = ["Asia/Jerusalem", "Europe/Riga"]
#: The day the claims are made, two days ahead so that everything built before is past.
DAY = utc_today() + timedelta(days=2)


def half_past_midnight(zone: str) -> datetime:
    """00:30 on DAY where `zone` is, which is still the day before in UTC."""
    moment = datetime.combine(DAY, time(0, 30), tzinfo=ZoneInfo(zone))
    assert moment.astimezone(UTC).date() == DAY - timedelta(days=1)
    return moment


@pytest.fixture
def program(db, world):
    """A live program over the days around DAY, paying installs and a training course."""
    program = make_program(db, partners=[world.partner_a])
    add_scheme(
        db,
        program,
        ["technician"],
        ("install", {"points_per_install": 50}),
        ("training", {"points": "15"}),
    )
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    return program


def technician_in(db, world, zone):
    technician = world.people[Role.TECHNICIAN]
    technician.timezone = zone
    db.commit()
    return technician


def date_input(page: str) -> dict[str, str]:
    """The claim form's date field: its attributes by name."""
    tag = re.search(r'<input type="date" id="occurred_on"[^>]*>', page).group(0)
    return dict(re.findall(r'(\w+)="([^"]*)"', tag))


@pytest.mark.parametrize("zone", ZONES)
def test_a_claim_made_on_the_web_at_half_past_midnight_carries_the_local_date(
    client, db, world, program, zone
):
    technician = technician_in(db, world, zone)
    with time_machine.travel(half_past_midnight(zone)):
        login_as(client, technician)
        field = date_input(client.get("/claims/new/install").get_data(as_text=True))
        assert field["value"] == field["max"] == DAY.isoformat()
        response = client.post(
            "/claims/new/install", data={"occurred_on": DAY.isoformat(), "serial": "LOCAL-1"}
        )
    assert response.status_code == 302
    claim = db.scalar(select(Claim).where(Claim.serial == "LOCAL-1"))
    assert (claim.occurred_on, claim.status) == (DAY, "approved")


@pytest.mark.parametrize("zone", ZONES)
def test_tomorrow_where_the_person_is_is_refused_with_a_clear_message(
    client, db, world, program, zone
):
    technician = technician_in(db, world, zone)
    tomorrow = DAY + timedelta(days=1)
    with time_machine.travel(half_past_midnight(zone)):
        login_as(client, technician)
        response = client.post(
            "/claims/new/install", data={"occurred_on": tomorrow.isoformat(), "serial": "LOCAL-2"}
        )
    assert response.status_code == 400
    assert "The date cannot be in the future." in response.get_data(as_text=True)
    assert db.scalar(select(Claim).where(Claim.serial == "LOCAL-2")) is None


def test_behind_utc_the_form_keeps_the_local_day_and_refuses_utcs(client, db, world, program):
    """Behind UTC the local day is still yesterday: the form neither offers nor takes UTC's."""
    technician = technician_in(db, world, "America/New_York")
    evening = datetime.combine(DAY, time(21, 0), tzinfo=ZoneInfo("America/New_York"))
    with time_machine.travel(evening):
        login_as(client, technician)
        field = date_input(client.get("/claims/new/install").get_data(as_text=True))
        assert field["value"] == field["max"] == DAY.isoformat()
        response = client.post(
            "/claims/new/install",
            data={"occurred_on": (DAY + timedelta(days=1)).isoformat(), "serial": "NY-1"},
        )
    assert response.status_code == 400


@pytest.mark.parametrize("zone", ZONES)
def test_a_claim_sent_through_the_api_at_half_past_midnight_carries_the_local_date(
    client, db, world, program, zone
):
    technician = technician_in(db, world, zone)
    _, headers = make_api_token(db, scope="write", partner=world.partner_a)
    db.commit()
    body = {"person_id": technician.id, "kind": "install", "serial": "API-1"}
    with time_machine.travel(half_past_midnight(zone)):
        made = client.post(
            "/api/v1/claims", headers=headers, json={**body, "occurred_on": DAY.isoformat()}
        )
        later = client.post(
            "/api/v1/claims",
            headers=headers,
            json={**body, "serial": "API-2", "occurred_on": (DAY + timedelta(days=1)).isoformat()},
        )
    assert made.status_code == 201 and made.get_json()["occurred_on"] == DAY.isoformat()
    assert later.status_code == 422


@pytest.mark.parametrize("zone", ZONES)
def test_a_sales_line_of_the_sellers_local_today_is_imported(db, world, zone):
    seller = world.people[Role.SELLER]
    seller.timezone = zone
    row = {"line": "1", "sku": "BX-24", "quantity": "1", "seller": seller.phone}
    make_product(db, make_group(db, "boilers", points=10), "BX-24")
    rows = [
        (1, {**row, "invoice_number": "D-1", "date": DAY.isoformat()}),
        (2, {**row, "invoice_number": "D-2", "date": (DAY + timedelta(days=1)).isoformat()}),
    ]
    report = import_sales(db, rows, now=half_past_midnight(zone))
    assert report.imported == 1
    assert [(line, "future" in reason) for line, reason in report.rejected] == [(2, True)]


def test_the_earnings_page_shows_a_claimed_day_and_a_real_moment_on_the_readers_clock(
    client, db, world, program
):
    zone = "Asia/Jerusalem"
    technician = technician_in(db, world, zone)
    manager = world.people[Role.PARTNER_MANAGER]
    manager.timezone = zone
    with time_machine.travel(half_past_midnight(zone)):
        login_as(client, technician)
        client.post(
            "/claims/new/install", data={"occurred_on": DAY.isoformat(), "serial": "EARN-1"}
        )
    # A course passed at 22:30 UTC on DAY: half past midnight the next day in Jerusalem.
    passed = datetime.combine(DAY, time(22, 30), tzinfo=UTC)
    record(db, "training", technician, occurred_at=passed, module="m1")
    db.commit()
    login_as(client, manager)
    page = client.get(f"/partners/{world.partner_a.id}/programs/{program.id}/earnings")
    cells = re.findall(r'<td data-label="When">([^<]*)</td>', page.get_data(as_text=True))
    after = DAY + timedelta(days=1)
    assert cells[0] == f"{after.month}/{after.day}/{after:%y}, 12:30\u202fAM"
    assert cells[1] == f"{DAY:%b} {DAY.day}, {DAY.year}"  # the claim's day, with no hour
