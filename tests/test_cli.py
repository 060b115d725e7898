from sqlalchemy import func, select

from channel.partner_models import Manufacturer, PartnerOrganization
from roles.models import Person
from roles.permissions import Role


def counts(db):
    return tuple(
        db.scalar(select(func.count()).select_from(model))
        for model in (Manufacturer, PartnerOrganization, Person)
    )


def test_seed_demo_loads_every_role_and_is_idempotent(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    first = counts(db)
    assert first == (1, 3, 11)
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert counts(db) == first
    everyone = db.scalars(select(Person)).all()
    roles = set().union(*(p.roles for p in everyone))
    assert roles == set(Role)
    assert {p.language for p in everyone} >= {"en", "lv", "pl", "ru", "he", "fa"}
    distributor = db.scalar(
        select(PartnerOrganization).where(PartnerOrganization.kind == "distributor")
    )
    assert len(distributor.children) == 2


def test_demo_manager_signs_in_with_the_documented_password(app, db, client):
    app.test_cli_runner().invoke(args=["seed-demo"])
    response = client.post(
        "/sign-in",
        data={"email": "channel@demo.partnerlift.example", "password": "partnerlift-demo"},
    )
    assert response.status_code == 302


def test_create_user_makes_an_admin_who_can_sign_in(app, db, client):
    result = app.test_cli_runner().invoke(
        args=[
            "create-user",
            "--name",
            "Ops Person",
            "--phone",
            "+37120000777",
            "--email",
            "ops@example.com",
            "--role",
            "admin",
            "--password",
        ],
        input="a long enough secret\na long enough secret\n",
    )
    assert result.exit_code == 0, result.output
    response = client.post(
        "/sign-in", data={"email": "ops@example.com", "password": "a long enough secret"}
    )
    assert response.status_code == 302


def test_create_user_reports_bad_input_and_creates_nothing(app, db):
    before = counts(db)
    result = app.test_cli_runner().invoke(
        args=["create-user", "--name", "X", "--phone", "123", "--role", "seller"]
    )
    assert result.exit_code != 0
    assert "phone" in result.output and "manufacturer" in result.output
    assert counts(db) == before


def test_create_user_refuses_a_short_password(app, db):
    before = counts(db)
    result = app.test_cli_runner().invoke(
        args=[
            "create-user",
            "--name",
            "Y",
            "--phone",
            "+37120000778",
            "--email",
            "y@example.com",
            "--role",
            "admin",
            "--password",
        ],
        input="short\nshort\n",
    )
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output
    assert counts(db) == before
