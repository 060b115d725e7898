"""Install claims checked against the serial registry, from every door."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from channel.claim_models import ClaimStatus
from channel.claims import ClaimDetails, InvalidClaim, submit_claim
from channel.models import SerialCheck
from channel.programs import launch_program
from channel.purchase_import import import_purchases, read_purchases
from channel.purchases import Serial, SerialEvent, SerialStatus
from core.db import get_session
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    build_world,
    make_group,
    make_partner,
    make_person,
    make_product,
    make_program,
    offer,
    utc_today,
)

TODAY = utc_today()
HEADER = "document,seller,partner,invoice_number,line,date,sku,quantity,amount,currency,serials\n"


def boilers(first: int, count: int) -> str:
    return " ".join(f"B{n:04d}" for n in range(first, first + count))


def shipments(db, world) -> None:
    """The distributor was invoiced 100 boilers and sold 40 on to partner A (its dealer); another
    distributor's chain got B9000."""
    make_product(db, make_group(db, "boilers"), "BX-24")
    distributor = make_partner(db, kind="distributor", legal_id="LV-DIST")
    world.partner_a.parent_id = distributor.id
    make_partner(db, kind="distributor", legal_id="LV-ELSEWHERE")
    day = TODAY - timedelta(days=10)
    text = (
        HEADER
        + f"invoice,,LV-DIST,M-1,1,{day},BX-24,100,95000,EUR,{boilers(1, 100)}\n"
        + f"invoice,LV-DIST,{world.partner_a.legal_id},D-1,1,{day},BX-24,40,40000,EUR,"
        + f"{boilers(1, 40)}\n"
        + f"invoice,,LV-ELSEWHERE,M-2,1,{day},BX-24,1,950,EUR,B9000\n"
        + f"invoice,,LV-DIST,M-3,1,{day},BX-24,1,950,EUR,B9500\n"
        + f"credit_note,,LV-DIST,C-1,1,{day},BX-24,-1,-950,EUR,B9500\n"
    )
    report = import_purchases(db, list(read_purchases(text.encode())), today=TODAY)
    assert not report.rejected, report.rejected


def install_program(db, world, serial_check=SerialCheck.REVIEW):
    program = make_program(db, partners=[world.partner_a], serial_check=serial_check)
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    return program


def claim(db, person, serial):
    return submit_claim(
        db, person, ClaimDetails(kind="install", occurred_on=TODAY, serial=serial), today=TODAY
    )


def test_the_story_of_a_chain_checked_install_by_install(db, world):
    shipments(db, world)
    install_program(db, world)
    technician = world.people[Role.TECHNICIAN]
    sold_on = claim(db, technician, "b0007")
    assert (sold_on.status, sold_on.flags) == (ClaimStatus.APPROVED, [])
    unit = db.scalar(select(Serial).where(Serial.serial == "B0007"))
    assert (unit.status, unit.installed_by_id) == (SerialStatus.INSTALLED, technician.id)
    # Still at the distributor that supplies partner A: in its chain.
    assert claim(db, technician, "B0077").flags == []
    invented = claim(db, technician, "NOT-SHIPPED-1")
    assert (invented.status, invented.flags) == (ClaimStatus.PENDING, ["serial_unknown"])
    elsewhere = claim(db, technician, "B9000")
    assert elsewhere.flags == ["serial_other_chain"]
    twice = claim(db, world.others[Role.TECHNICIAN], "B0007")
    assert {"duplicate_serial", "serial_installed", "serial_other_chain"} <= set(twice.flags)
    returned = claim(db, technician, "B9500")
    assert returned.flags == ["serial_returned"]
    history = db.scalars(
        select(SerialEvent.status)
        .join(Serial, Serial.id == SerialEvent.serial_id)
        .where(Serial.serial == "B0007")
        .order_by(SerialEvent.id)
    ).all()
    assert history == ["shipped", "sold_on", "installed"]


def test_a_program_that_refuses_unknown_serials_says_why_and_saves_nothing(db, world):
    shipments(db, world)
    install_program(db, world, SerialCheck.REFUSE)
    with pytest.raises(InvalidClaim) as refused:
        claim(db, world.people[Role.TECHNICIAN], "NOT-SHIPPED-2")
    assert "no record of shipping the serial number NOT-SHIPPED-2" in str(
        refused.value.errors["serial"]
    )
    # Known units are still checked, and flagged rather than refused.
    assert claim(db, world.people[Role.TECHNICIAN], "B9000").flags == ["serial_other_chain"]


def test_a_program_that_does_not_check_pays_any_serial(db, world):
    shipments(db, world)
    install_program(db, world, SerialCheck.OFF)
    assert claim(db, world.people[Role.TECHNICIAN], "NOT-SHIPPED-3").status == ClaimStatus.APPROVED


def test_the_strictest_program_the_company_takes_part_in_decides(db, world):
    shipments(db, world)
    install_program(db, world, SerialCheck.OFF)
    install_program(db, world, SerialCheck.REFUSE)
    with pytest.raises(InvalidClaim):
        claim(db, world.people[Role.TECHNICIAN], "NOT-SHIPPED-4")


def test_without_any_shipment_data_installs_earn_as_before(db, world):
    install_program(db, world, SerialCheck.REFUSE)
    assert claim(db, world.people[Role.TECHNICIAN], "ANY-1").status == ClaimStatus.APPROVED


def test_the_program_form_sets_how_strictly_serials_are_checked(client, db, world):
    from tests.builders import login_as

    program = make_program(db, partners=[world.partner_a], name="Checked")
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get(f"/programs/{program.id}/edit").get_data(as_text=True)
    assert 'name="serial_check"' in page and "Send serial numbers we never shipped" in page


@pytest.mark.postgresql
def test_an_import_and_an_install_of_one_serial_at_once_leave_the_registry_consistent(
    committed_postgres_app,
):
    app = committed_postgres_app
    with app.app_context():
        db = get_session()
        world = build_world(db)
        make_product(db, make_group(db, "race-serials"), "RS-1")
        distributor = make_partner(db, kind="distributor", legal_id="LV-RACE-DIST")
        dealer = make_partner(db, legal_id="LV-RACE-DEALER", parent=distributor)
        other = make_partner(db, legal_id="LV-RACE-OTHER", parent=distributor)
        technician = make_person(db, dealer, ["technician"])
        program = make_program(db, partners=[dealer])
        add_scheme(db, program, ["technician"], ("install", {"points_per_install": 5}))
        offer(db, program, world.people[Role.CHANNEL_MANAGER])
        approve(db, program, dealer, make_person(db, dealer, ["partner_manager"]))
        launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
        day = TODAY - timedelta(days=2)
        shipped = HEADER + "".join(
            f"invoice,,LV-RACE-DIST,R-{n},1,{day},RS-1,1,10,EUR,RACE-{n}\n" for n in range(20)
        )
        import_purchases(db, list(read_purchases(shipped.encode())), today=TODAY)
        db.commit()
        technician_id, other_id = technician.id, other.id
    # The distributor sells every unit on to another dealer while the technician installs them.
    sell_on = HEADER + "".join(
        f"invoice,LV-RACE-DIST,LV-RACE-OTHER,S-{n},1,{TODAY},RS-1,1,10,EUR,RACE-{n}\n"
        for n in range(20)
    )
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    start, outcome = threading.Barrier(2), {}

    def import_sell_on():
        with app.app_context(), factory() as session:
            start.wait()
            outcome["import"] = import_purchases(
                session, list(read_purchases(sell_on.encode())), today=TODAY
            )
            session.commit()

    def install_all():
        with app.app_context(), factory() as session:
            from roles.models import Person

            person = session.get(Person, technician_id)
            start.wait()
            for n in range(20):
                claim(session, person, f"RACE-{n}")
                session.commit()

    threads = [threading.Thread(target=import_sell_on), threading.Thread(target=install_all)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with factory() as session:
        for n in range(20):
            unit = session.scalar(select(Serial).where(Serial.serial == f"RACE-{n}"))
            events = session.scalars(
                select(SerialEvent).where(SerialEvent.serial_id == unit.id).order_by(SerialEvent.id)
            ).all()
            # The unit's state is its last event's, and nothing moves an installed unit.
            assert unit.status == events[-1].status
            statuses = [e.status for e in events]
            assert statuses in (
                ["shipped", "installed"],
                ["shipped", "sold_on"],
                ["shipped", "sold_on", "installed"],
            )
            if unit.status == SerialStatus.SOLD_ON:
                assert unit.holder_id == other_id
        lines = session.scalar(select(func.count()).select_from(SerialEvent))
    report = outcome["import"]
    assert report.imported + len(report.rejected) == 20 and lines >= 40
