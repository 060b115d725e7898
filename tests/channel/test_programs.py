"""Designing programs and schemes: bad input is reported whole and nothing is saved."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from sqlalchemy import func, select

from channel.catalog import (
    InvalidProduct,
    UnreadableCatalogFile,
    import_products,
    save_group,
    save_product,
)
from channel.models import AuditEntry, Product, Program, ProgramVersion
from channel.programs import InvalidProgram, ProgramDetails, offer_program, save_program
from channel.scheme_models import EarningRule, Scheme
from channel.schemes import InvalidScheme, RuleInput, SchemeDetails, save_scheme
from roles.permissions import Role
from tests.builders import add_scheme, login_as, make_group, make_product, make_program, offer
from tests.hostile import fuzz, hostile_import, spreadsheet_files, table_counts

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def details(**overrides):
    values = {
        "name": "Spring boilers",
        "starts_at": NOW,
        "ends_at": NOW + timedelta(days=90),
        "currency": "PLN",
        "point_value": "0.05",
        "cap_per_person_month": 400,
    }
    values.update(overrides)
    return ProgramDetails(**values)


def count(db, model):
    return db.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"starts_at": datetime(1, 1, 1, tzinfo=UTC)}, "starts_at"),
        ({"ends_at": datetime(9999, 12, 31, tzinfo=UTC)}, "ends_at"),
        ({"budget_points": 99999999999999999999}, "budget_points"),
        ({"cap_per_person_month": 2**31}, "cap_per_person_month"),
        ({"point_value": "1e309"}, "point_value"),
    ],
)
def test_program_dates_and_limits_no_column_holds_are_refused(db, world, overrides, field):
    with pytest.raises(InvalidProgram) as refused:
        save_program(db, details(**overrides), actor_id=world.people[Role.CHANNEL_MANAGER].id)
    assert set(refused.value.errors) == {field}


def test_a_program_ending_on_the_last_day_a_calendar_has_is_refused_on_the_page(client, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post(
        "/programs/new",
        data={
            "name": "Forever",
            "starts_on": "2027-01-01",
            "ends_on": "9999-12-31",
            "currency": "EUR",
            "point_value": "0.01",
        },
    )
    assert response.status_code == 400
    assert "Give a day between the years 1900 and 2999." in response.get_data(as_text=True)


def test_program_with_every_problem_reports_them_all_and_saves_nothing(db, world):
    before = count(db, Program)
    with pytest.raises(InvalidProgram) as refused:
        save_program(
            db,
            details(
                name=" ",
                ends_at=NOW - timedelta(days=1),
                currency="ABC",
                point_value="-1",
                budget_points=-5,
            ),
            actor_id=world.people[Role.CHANNEL_MANAGER].id,
        )
    assert set(refused.value.errors) == {
        "name",
        "ends_at",
        "currency",
        "point_value",
        "budget_points",
    }
    assert count(db, Program) == before


def test_program_is_created_with_translations_and_targets(db, world):
    program = save_program(
        db,
        details(
            texts={"pl": ("Wiosenne kotły", "Opis"), "he": ("", "")},
            partner_ids=[world.partner_b.id],
        ),
        actor_id=world.people[Role.CHANNEL_MANAGER].id,
    )
    assert program.text_in("pl") == ("Wiosenne kotły", "Opis")
    assert program.text_in("he") == ("Spring boilers", "")  # an empty translation falls back
    assert [t.partner_id for t in program.targets] == [world.partner_b.id]
    assert program.budget_money is None


def test_changing_terms_of_an_offered_program_makes_a_new_version_with_an_audit_trail(db, world):
    program = make_program(db, partners=[world.partner_a], cap_per_person_month=400)
    add_scheme(db, program, ["seller"], ("referral", {"points": 5}))
    manager = world.people[Role.CHANNEL_MANAGER]
    offer(db, program, manager)
    save_program(
        db,
        details(
            name=program.name,
            starts_at=program.starts_at,
            ends_at=program.ends_at,
            currency="EUR",
            point_value="0.01",
            cap_per_person_month=300,
            partner_ids=[world.partner_a.id],
        ),
        actor_id=manager.id,
        existing=program,
    )
    assert program.version == 2
    assert count(db, ProgramVersion) == 2
    change = db.scalar(select(AuditEntry).where(AuditEntry.field == "cap_per_person_month"))
    assert (change.action, change.previous, change.new, change.program_version) == (
        "changed",
        400,
        300,
        2,
    )


def test_renaming_an_offered_program_is_audited_without_a_new_version(db, world):
    program = make_program(db, partners=[world.partner_a])
    add_scheme(db, program, ["seller"], ("referral", {"points": 5}))
    manager = world.people[Role.CHANNEL_MANAGER]
    offer(db, program, manager)
    save_program(
        db,
        details(
            name="Renamed",
            starts_at=program.starts_at,
            ends_at=program.ends_at,
            currency="EUR",
            point_value="0.01",
            cap_per_person_month=None,
            partner_ids=[world.partner_a.id],
        ),
        actor_id=manager.id,
        existing=program,
    )
    assert program.version == 1
    assert db.scalar(select(AuditEntry.action).where(AuditEntry.field == "name")) == "edited"


def test_a_program_needs_a_scheme_and_targets_before_it_is_offered(db, world):
    program = make_program(db)
    with pytest.raises(InvalidProgram) as refused:
        offer_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    assert set(refused.value.errors) == {"schemes", "targets"}
    assert program.status == "draft"


@pytest.fixture
def catalog(db):
    boilers = make_group(db, "boilers")
    make_product(db, boilers, "BX-24")
    make_group(db, "pumps")
    return boilers


def scheme(*rules, roles=("seller",), company=False, name="Sellers"):
    return SchemeDetails(
        name=name,
        roles=list(roles),
        company_level=company,
        rules=[RuleInput(k, p) for k, p in rules],
    )


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (("unit_sold", {"product_sku": "BX-24", "points_per_unit": -3}), "rules.0.points_per_unit"),
        (("unit_sold", {"product_sku": "NOPE-1", "points_per_unit": 3}), "rules.0.product_sku"),
        (
            ("unit_sold", {"product_group": "kettles", "points_per_unit": 3}),
            "rules.0.product_group",
        ),
        (("install", {"points_per_install": 0}), "rules.0.points_per_install"),
        (("volume_rebate", {"default_percent": "2"}), "rules.0.kind"),
        (("wizardry", {}), "rules.0.kind"),
    ],
)
def test_bad_rules_are_refused_and_nothing_is_saved(db, world, catalog, rule, field):
    program = make_program(db)
    with pytest.raises(InvalidScheme) as refused:
        save_scheme(db, program, scheme(rule), actor_id=world.people[Role.CHANNEL_MANAGER].id)
    assert field in refused.value.errors
    assert count(db, Scheme) == 0 and count(db, EarningRule) == 0


def test_overlapping_rules_for_the_same_role_are_refused(db, world, catalog):
    program = make_program(db)
    actor = world.people[Role.CHANNEL_MANAGER].id
    save_scheme(
        db,
        program,
        scheme(("unit_sold", {"product_group": "boilers", "points_per_unit": 5})),
        actor_id=actor,
    )
    db.refresh(program)
    with pytest.raises(InvalidScheme) as refused:
        save_scheme(
            db,
            program,
            scheme(
                ("unit_sold", {"product_sku": "BX-24", "points_per_unit": 9}),
                roles=("seller", "engineer"),
                name="Focus",
            ),
            actor_id=actor,
        )
    assert "twice" in str(refused.value.errors["rules"])
    assert count(db, Scheme) == 1
    # The same product for a role the first scheme does not cover is fine.
    save_scheme(
        db,
        program,
        scheme(("unit_sold", {"product_sku": "BX-24", "points_per_unit": 9}), roles=("engineer",)),
        actor_id=actor,
    )
    assert count(db, Scheme) == 2


def test_company_scheme_takes_company_rules_and_no_roles(db, world, catalog):
    program = make_program(db)
    actor = world.people[Role.CHANNEL_MANAGER].id
    with pytest.raises(InvalidScheme) as refused:
        save_scheme(
            db,
            program,
            scheme(("cashback", {"amount_per_unit": "1", "monthly_cap": "100"}), company=True),
            actor_id=actor,
        )
    assert "roles" in refused.value.errors
    saved = save_scheme(
        db,
        program,
        scheme(
            ("cashback", {"amount_per_unit": "1", "monthly_cap": "100"}), roles=(), company=True
        ),
        actor_id=actor,
    )
    assert saved.company_level and saved.roles == frozenset()


def test_editing_a_scheme_of_an_offered_program_keeps_the_old_rules_for_the_old_version(
    db, world, catalog
):
    program = make_program(db, partners=[world.partner_a])
    old = add_scheme(
        db, program, ["seller"], ("unit_sold", {"product_group": "boilers", "points_per_unit": 5})
    )
    actor = world.people[Role.CHANNEL_MANAGER].id
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    new = save_scheme(
        db,
        program,
        scheme(("unit_sold", {"product_group": "boilers", "points_per_unit": 8})),
        actor_id=actor,
        existing=old,
    )
    assert new.id != old.id and program.version == 2
    assert old.live_in(1) and not old.live_in(2) and new.live_in(2) and not new.live_in(1)


def test_channel_manager_builds_a_scheme_through_the_editor(client, db, world, catalog):
    program = make_program(db, partners=[world.partner_a])
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    form = client.get(f"/programs/{program.id}/schemes/new?kind=unit_sold").get_data(as_text=True)
    assert 'name="focus_multiplier"' in form
    response = client.post(
        f"/programs/{program.id}/schemes/new",
        data={
            "name": "Sellers",
            "roles": ["seller"],
            "kind": "unit_sold",
            "product_sku": "BX-24",
            "points_per_unit": "12",
            "focus_multiplier": "2",
        },
    )
    assert response.status_code == 400
    assert "A focus multiplier needs its start and end." in response.get_data(as_text=True)
    assert count(db, Scheme) == 0
    response = client.post(
        f"/programs/{program.id}/schemes/new",
        data={
            "name": "Sellers",
            "roles": ["seller"],
            "kind": "unit_sold",
            "product_sku": "BX-24",
            "points_per_unit": "12",
            "focus_multiplier": "2",
            "focus_from": "2027-01-01T00:00",
            "focus_until": "2027-01-15T00:00",
        },
    )
    assert response.status_code == 302
    detail = client.get(f"/programs/{program.id}").get_data(as_text=True)
    assert "12 points per unit of product BX-24 sold" in detail and "×2" in detail


def test_end_before_start_on_the_program_form_is_refused(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    before = count(db, Program)
    response = client.post(
        "/programs/new",
        data={
            "name": "Backwards",
            "starts_on": "2027-03-01",
            "ends_on": "2027-02-01",
            "currency": "EUR",
            "point_value": "0.01",
        },
    )
    assert response.status_code == 400
    assert "The program must end after it starts." in response.get_data(as_text=True)
    assert count(db, Program) == before


def test_simulation_projects_points_and_cost_per_partner_and_role(client, db, world, catalog):
    from tests.builders import record

    program = make_program(db, partners=[world.partner_a], days=(30, 60))
    add_scheme(
        db, program, ["seller"], ("unit_sold", {"product_group": "boilers", "points_per_unit": 10})
    )
    record(
        db, "sale", world.people[Role.SELLER], sku="BX-24", quantity=4
    )  # recorded before the program
    from channel.simulation import simulate

    projection = simulate(
        db, program, datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1)
    )
    (row,) = projection.partners
    assert (row.points, row.by_role["seller"], row.cost) == (40, 40, Decimal("0.40"))
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    assert client.get(f"/programs/{program.id}/simulate").status_code == 200


def test_products_are_imported_from_csv_with_bad_rows_reported(db, catalog):
    data = b"sku,name,group,points_per_unit\nBX-24,Boiler 24 kW,boilers,12\nHP-9,Heat pump,pumps,\nX-1,Mystery,kettles,3\nBX-30,Big,boilers,-1\nHP-9,Again,pumps,1\n"
    report = import_products(db, data)
    assert (report.created, report.updated) == (1, 1)
    assert [sku for _line, sku, _why in report.rejected] == ["X-1", "BX-30", "HP-9"]
    assert db.scalar(select(Product.points_per_unit).where(Product.sku == "BX-24")) == 12


def test_catalog_file_without_the_columns_imports_nothing(db, catalog):
    with pytest.raises(UnreadableCatalogFile):
        import_products(db, b"code,title\nA,B\n")


def test_catalog_file_with_a_column_named_twice_imports_nothing(db, catalog):
    with pytest.raises(UnreadableCatalogFile) as refusal:
        import_products(db, b"sku,name,group,SKU\nBX-99,Boiler,boilers,BX-98\n")
    assert "names the columns sku more than once" in str(refusal.value.args[0])
    assert db.scalar(select(func.count(Product.id)).where(Product.sku.like("BX-9%"))) == 0


@pytest.mark.parametrize("points", ["1000001", "99999999999999999999999"])
def test_points_per_unit_beyond_the_limit_are_refused_not_a_database_error(db, catalog, points):
    with pytest.raises(InvalidProduct) as refused:
        save_group(db, code="huge", name="Huge", default_points=points)
    assert "at most 1000000" in str(refused.value.errors["default_points_per_unit"])
    with pytest.raises(InvalidProduct):
        save_product(db, sku="HUGE-1", name="Huge", group_code="boilers", points_per_unit=points)


@pytest.mark.parametrize(
    ("sku", "name", "field"),
    [("BX\x00", "Boiler", "sku"), ("BX-99", "Boiler\x00", "name"), ("B" * 65, "Boiler", "sku")],
)
def test_a_product_text_no_column_holds_is_refused(db, catalog, sku, name, field):
    with pytest.raises(InvalidProduct) as refused:
        save_product(db, sku=sku, name=name, group_code="boilers", points_per_unit="1")
    assert set(refused.value.errors) == {field}


def test_a_catalog_file_with_a_nul_or_an_overlong_name_imports_its_other_rows(db, catalog):
    data = f"sku,name,group\nA-1,Good,boilers\nA-2,Bad\x00,boilers\nA-3,{'n' * 201},pumps\n"
    report = import_products(db, data.encode())
    assert report.created == 1
    assert [sku for _line, sku, _why in report.rejected] == ["A-2", "A-3"]


def test_duplicate_sku_is_refused(db, catalog):
    with pytest.raises(InvalidProduct) as refused:
        save_product(db, sku="bx-24", name="Again", group_code="boilers", points_per_unit="")
    assert "sku" in refused.value.errors


def test_channel_manager_adds_a_group_and_a_product_on_the_catalog_page(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post(
        "/catalog/groups",
        data={
            "group-code": "Pumps",
            "group-name": "Heat pumps",
            "group-default_points_per_unit": "20",
        },
    )
    assert response.status_code == 302
    response = client.post(
        "/catalog/products",
        data={
            "product-sku": "hp-8",
            "product-name": "Pump 8",
            "product-group": "pumps",
            "product-points_per_unit": "",
        },
    )
    assert response.status_code == 302
    assert db.scalar(select(Product).where(Product.sku == "HP-8")).unit_points == 20
    response = client.post(
        "/catalog/products",
        data={
            "product-sku": "HP-8",
            "product-name": "Again",
            "product-group": "pumps",
            "product-points_per_unit": "-2",
        },
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and "is taken" in text and "cannot be negative" in text


def test_a_hostile_catalog_file_is_refused_whole_or_imports_exactly_its_good_rows(app, db, catalog):
    good = [
        {"sku": f"FZ-{n}", "name": f"Fuzzed {n}", "group": "boilers", "points_per_unit": str(n)}
        for n in (1, 2, 3)
    ]
    good, templates = good[:2], good[2:]

    @fuzz(60)
    @given(spreadsheet_files(list(good[0]), good, templates=templates))
    def check(file):
        data, readable = file
        with hostile_import(db, readable, UnreadableCatalogFile) as run, app.test_request_context():
            report, before = run(lambda: import_products(db, data))
            if report is None:
                return
            assert table_counts(db)["products"] - before["products"] == report.created
            assert all(reasons for _line, _sku, reasons in report.rejected)
            if readable:
                skus = set(db.scalars(select(Product.sku)))
                assert {"FZ-1", "FZ-2"} <= skus

    check()


def ticked(page: str, name: str) -> set[str]:
    """The values of the ticked boxes named `name` on a page."""
    tags = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page)
    return {re.search(r'value="([^"]*)"', tag)[1] for tag in tags if " checked" in tag}


def test_choosing_another_rule_kind_keeps_what_was_typed_and_saves_nothing(
    client, db, world, catalog
):
    program = make_program(db, partners=[world.partner_a])
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    url = f"/programs/{program.id}/schemes/new"
    page = client.get(url).get_data(as_text=True)
    assert 'name="choose_kind" value="unit_sold"' in page
    typed = {"name": "Installers in the north", "roles": ["technician", "engineer"]}
    response = client.post(url, data={**typed, "choose_kind": "training"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="Installers in the north"' in page
    assert ticked(page, "roles") == {"technician", "engineer"}
    assert 'name="kind" value="training"' in page and "Give the scheme a name." not in page
    # Values of the first kind stay when the manager changes their mind again.
    response = client.post(
        url, data={**typed, "kind": "training", "points": "40", "choose_kind": "referral"}
    )
    page = response.get_data(as_text=True)
    assert 'name="kind" value="referral"' in page and 'value="Installers in the north"' in page
    assert 'id="points" name="points" value="40"' in page
    assert count(db, Scheme) == 0
    response = client.post(url, data={**typed, "kind": "referral", "points": "40"})
    assert response.status_code == 302
    assert db.scalar(select(Scheme.name)) == "Installers in the north"
