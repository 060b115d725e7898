"""Setting up a program step by step (terms → schemes per role → partners → review → offer), and
the confirmation every act on a program that cannot be undone asks first."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from channel.models import AuditEntry, Program, ProgramStatus
from channel.scheme_models import Scheme
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    login_as,
    make_group,
    make_person,
    make_product,
    make_program,
    offer,
    record,
)

TERMS = {
    "starts_on": "2027-01-01",
    "ends_on": "2027-03-31",
    "currency": "EUR",
    "point_value": "0.01",
}


def links(page: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', page)


def test_a_new_program_leads_from_its_terms_to_a_scheme_for_each_role(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post(
        "/programs/new", data={**TERMS, "name": "Spring", "partner_ids": [world.partner_a.id]}
    )
    program = db.scalar(select(Program).where(Program.name == "Spring"))
    assert response.headers["Location"] == f"/programs/{program.id}/schemes"
    page = client.get(f"/programs/{program.id}/schemes").get_data(as_text=True)
    assert 'aria-current="step"' in page and "Schemes per role" in page
    for role in ("seller", "engineer", "technician", "procurement"):
        assert f"/programs/{program.id}/schemes/new?role={role}" in page
    assert f"/programs/{program.id}/schemes/new?role=company" in page
    assert f"/programs/{program.id}/edit?step=targets#targets" in links(page)  # Next
    assert f"/programs/{program.id}/edit" in links(page)  # Back

    editor = client.get(f"/programs/{program.id}/schemes/new?role=technician").get_data(
        as_text=True
    )
    ticked = [tag for tag in re.findall(r"<input[^>]*>", editor) if " checked" in tag]
    assert len(ticked) == 1 and 'value="technician"' in ticked[0]

    # The partners step is the terms' page; saving it leads on to the review.
    response = client.post(
        f"/programs/{program.id}/edit?step=targets",
        data={**TERMS, "name": "Spring", "partner_ids": [world.partner_b.id]},
    )
    assert response.headers["Location"] == f"/programs/{program.id}/review"


def test_the_review_shows_the_program_in_plain_words_with_an_estimate_per_role(client, db, world):
    boilers = make_group(db, "boilers")
    make_product(db, boilers, "BX-24")
    program = make_program(db, partners=[world.partner_a], days=(2, 32))
    add_scheme(
        db, program, ["seller"], ("unit_sold", {"product_group": "boilers", "points_per_unit": 10})
    )
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 25}))
    seller = world.people[Role.SELLER]
    record(
        db, "sale", seller, sku="BX-24", quantity=4, occurred_at=datetime.now(UTC) - timedelta(1)
    )
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get(f"/programs/{program.id}/review").get_data(as_text=True)
    assert "10 points per unit of" in page
    assert "25 points per registered install" in page
    assert "Alpha Heating SIA" in page and "Bravo" not in page
    rows = re.findall(r"<tr><td[^>]*>([^<]+)</td>.*?</tr>", page)
    assert rows == ["Seller", "Field technician"]
    seller_row = re.search(r"<tr><td[^>]*>Seller</td>(.*?)</tr>", page)[1]
    assert re.findall(r">(\d+)<", seller_row) == ["1", "40", "40"]  # people, points, per person
    assert f'action="/programs/{program.id}/offer"' in page and 'name="confirm" value="1"' in page


def test_offering_asks_first_and_the_review_offers(client, db, world):
    program = make_program(db, partners=[world.partner_a])
    add_scheme(db, program, ["seller"], ("referral", {"points": 5}))
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get(f"/programs/{program.id}/offer").get_data(as_text=True)
    assert "Offering cannot be undone." in page and "5 points per referred partner" in page
    assert client.post(f"/programs/{program.id}/offer").status_code == 200  # asked again
    db.refresh(program)
    assert program.status == ProgramStatus.DRAFT
    client.post(f"/programs/{program.id}/offer", data={"confirm": "1"})
    db.refresh(program)
    assert program.status == ProgramStatus.OFFERED


def test_launch_and_close_ask_first_and_say_what_will_happen(client, db, world):
    program = make_program(db, partners=[world.partner_a, world.partner_b])
    add_scheme(db, program, ["seller"], ("referral", {"points": 5}))
    manager = world.people[Role.CHANNEL_MANAGER]
    offer(db, program, manager)
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    db.commit()
    login_as(client, manager)
    detail = client.get(f"/programs/{program.id}").get_data(as_text=True)
    assert f"/programs/{program.id}/launch" in links(detail)  # a link to ask, not a form
    assert f'action="/programs/{program.id}/launch"' not in detail

    page = client.get(f"/programs/{program.id}/launch").get_data(as_text=True)
    assert "Approved: Alpha Heating SIA." in page
    assert "Still deciding: Bravo Instal Sp. z o.o." in page
    response = client.post(f"/programs/{program.id}/launch")
    assert response.status_code == 200 and "Approved: Alpha Heating SIA." in response.text
    db.refresh(program)
    assert program.status == ProgramStatus.OFFERED
    client.post(f"/programs/{program.id}/launch", data={"confirm": "1"})
    db.refresh(program)
    assert program.status == ProgramStatus.ACTIVE

    page = client.get(f"/programs/{program.id}/close").get_data(as_text=True)
    assert "A closed program cannot be opened again." in page
    client.post(f"/programs/{program.id}/close", data={"confirm": "0"})
    db.refresh(program)
    assert program.status == ProgramStatus.ACTIVE
    client.post(f"/programs/{program.id}/close", data={"confirm": "1"})
    db.refresh(program)
    assert program.status == ProgramStatus.CLOSED
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.program_id == program.id)).all()
    assert actions.count("launched") == 1 and actions.count("closed") == 1


def test_removing_a_scheme_asks_first(client, db, world):
    program = make_program(db, partners=[world.partner_a])
    scheme = add_scheme(db, program, ["seller"], ("referral", {"points": 5}), name="Referrals")
    db.commit()
    scheme_id = scheme.id
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    url = f"/programs/{program.id}/schemes/{scheme_id}/retire"
    assert url in links(client.get(f"/programs/{program.id}/schemes/{scheme_id}").text)
    page = client.get(url).get_data(as_text=True)
    assert "Remove the scheme “Referrals”?" in page and "5 points per referred partner" in page
    client.post(url)
    assert db.scalar(select(Scheme.id).where(Scheme.id == scheme_id)) == scheme_id
    client.post(url, data={"confirm": "1"})
    assert db.scalar(select(Scheme.id).where(Scheme.id == scheme_id)) is None


def test_the_scheme_editor_shows_the_scheme_in_words_and_its_estimate_without_saving(
    client, db, world
):
    boilers = make_group(db, "boilers")
    make_product(db, boilers, "BX-24")
    program = make_program(db, partners=[world.partner_a], days=(2, 32))
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 25}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    record(
        db,
        "sale",
        world.people[Role.SELLER],
        sku="BX-24",
        quantity=3,
        occurred_at=datetime.now(UTC) - timedelta(1),
    )
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    url = f"/programs/{program.id}/schemes/new"
    typed = {"name": "Sellers", "roles": ["seller"], "kind": "unit_sold", "product_sku": "BX-24"}
    response = client.post(url, data={**typed, "points_per_unit": "7", "preview": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "7 points per unit of" in page
    seller_row = re.search(r"<tr><td[^>]*>Seller</td>(.*?)</tr>", page)[1]
    assert re.findall(r">(\d+)<", seller_row) == ["1", "21", "21"]
    assert 'value="Sellers"' in page
    assert page.count('name="preview"') == 1  # the button, not kept for the next send
    assert 'id="points_per_unit" name="points_per_unit" value="7"' in page
    db.expire_all()
    assert db.scalar(select(Scheme.id).where(Scheme.name == "Sellers")) is None
    assert db.get(Program, program.id).version == 1  # an offered program kept its version

    page = client.post(url, data={**typed, "points_per_unit": "-3", "preview": "1"}).text
    assert "Not complete yet:" in page and "Seller</td>" not in page


def test_the_program_and_scheme_forms_keep_user_text_in_its_own_direction(client, db, world):
    """Typed names lay out in their own direction (dir="auto") and shown ones are isolated
    (<bdi>): a Latin program name reads whole on a Hebrew page."""
    program = make_program(db, name="Winter heat", partners=[world.partner_a])
    scheme = add_scheme(db, program, ["technician"], name="Installers")
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    terms = client.get(f"/programs/{program.id}/edit").get_data(as_text=True)
    inputs = {
        re.search(r'name="([^"]+)"', tag)[1]: tag
        for tag in re.findall(r"<(?:input|textarea)[^>]*>", terms)
        if 'name="' in tag
    }
    assert 'dir="auto"' in inputs["name"] and 'dir="auto"' in inputs["description"]
    assert 'dir="auto"' in inputs["name_he"]
    assert 'dir="auto"' not in inputs["starts_on"] and 'dir="auto"' not in inputs["point_value"]
    assert "<h1><bdi>Winter heat</bdi></h1>" in terms
    editor = client.get(f"/programs/{program.id}/schemes/{scheme.id}").get_data(as_text=True)
    assert "<bdi>Winter heat</bdi></a>" in editor and "<h1><bdi>Installers</bdi></h1>" in editor
    (name,) = [tag for tag in re.findall(r"<input[^>]*>", editor) if 'name="name"' in tag]
    assert 'dir="auto"' in name


def test_the_estimate_counts_each_person_once_under_the_roles_the_engine_pays_them_as(db, world):
    """A seller who also installs earns under one scheme as seller and technician and under
    another as technician: counted so, and not once more as a plain seller."""
    from channel.simulation import program_estimate

    boilers = make_group(db, "boilers")
    make_product(db, boilers, "BX-24")
    program = make_program(db, partners=[world.partner_a], days=(2, 32))
    add_scheme(
        db,
        program,
        ["seller", "technician"],
        ("unit_sold", {"product_group": "boilers", "points_per_unit": 10}),
    )
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 25}))
    both = make_person(db, world.partner_a, ["seller", "technician"])
    seller, technician = world.people[Role.SELLER], world.people[Role.TECHNICIAN]
    yesterday = datetime.now(UTC) - timedelta(days=1)
    record(db, "sale", seller, sku="BX-24", quantity=4, occurred_at=yesterday)  # 40
    record(db, "sale", both, sku="BX-24", quantity=2, occurred_at=yesterday)  # 20
    record(db, "install", both, sku="BX-24", serial="SN-E1", occurred_at=yesterday)  # 25
    record(db, "install", technician, sku="BX-24", serial="SN-E2", occurred_at=yesterday)  # 25

    _, estimates = program_estimate(db, program)

    rows = {row.role: (row.people, row.points, row.per_person) for row in estimates}
    assert rows == {
        "seller": (1, 40, 40),
        "technician": (2, 50, 25),
        "seller+technician": (1, 20, 20),
    }
