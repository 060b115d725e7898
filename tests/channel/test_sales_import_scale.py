"""A sell-out import's database work does not grow with the number of sellers it credits:
the same lines spread over ten times the people take the same number of SQL statements,
nudges, leaderboard places, tips and balances included."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from channel.programs import launch_program
from channel.sales_import import import_sales
from core.zones import noon_utc
from messaging.consent import set_consent
from messaging.models import OutboxMessage, Tip
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    make_group,
    make_partner,
    make_person,
    make_product,
    make_program,
    offer,
    utc_today,
)

TODAY = utc_today()
NOW = noon_utc(TODAY)
LINES = 400


@pytest.fixture
def ctx(app):
    """Operations run inside the app, as in a request or a `flask` command."""
    with app.app_context():
        yield app


@contextmanager
def statements(db):
    """The SQL statements sent to the database inside the block."""
    sent: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _executemany):
        sent.append(statement)

    engine = db.get_bind().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def crowd_world(db, world, sellers: int):
    """Two partners with `sellers` sellers between them (some in Polish, one opted out of
    SMS), in a program with a leaderboard, a monthly cap and a budget, and tips to choose
    from: every path the import's messages take."""
    partner_b = make_partner(db, country="PL")
    group = make_group(db, "boilers", points=10)
    make_product(db, group, "BX-24")
    make_product(db, group, "BX-35")
    program = make_program(
        db,
        partners=[world.partner_a, partner_b],
        show_leaderboard=True,
        cap_per_person_month=10_000,
        budget_points=10_000_000,
    )
    add_scheme(db, program, ["seller"], ("unit_sold", {"product_group": "boilers"}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    people = [
        make_person(
            db,
            (world.partner_a, partner_b)[n % 2],
            ["seller"],
            language=("en", "pl")[n % 2],
        )
        for n in range(sellers)
    ]
    manager_b = make_person(db, partner_b, ["partner_manager"])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    approve(db, program, partner_b, manager_b)
    set_consent(db, people[0].id, "sms", opted_out=True, source="sms:STOP")
    for language in ("en", "pl"):
        for n in range(2):
            db.add(Tip(product_group_id=group.id, language=language, text=f"Tip {language} {n}"))
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    db.flush()
    return people


def lines_for(people, invoice: str) -> list[tuple[int, dict]]:
    return [
        (
            n + 2,
            {
                "invoice_number": f"{invoice}-{n // 4}",
                "line": str(n % 4 + 1),
                "date": TODAY.isoformat(),
                "sku": ("BX-24", "BX-35")[n % 2],
                "quantity": str(n % 3 + 1),
                "seller": people[n % len(people)].phone,
            },
        )
        for n in range(LINES)
    ]


def test_an_imports_statements_do_not_grow_with_its_sellers(db, world, ctx):
    people = crowd_world(db, world, 200)
    # A first import so that balances, tips already received and leaderboards exist.
    import_sales(db, lines_for(people, "A"), now=NOW)
    counts = {}
    for invoice, sellers in (("B", people[:20]), ("C", people)):
        db.expunge_all()  # nothing comes from what the session already holds
        with statements(db) as sent:
            report = import_sales(db, lines_for(sellers, invoice), now=NOW)
        assert report.imported == LINES
        counts[len(sellers)] = len(sent)
    told = db.scalars(
        select(OutboxMessage.person_id).where(OutboxMessage.kind == "points_earned")
    ).all()
    assert len(told) == 200 + 20 + 200  # everyone, once for each import that credited them
    assert counts[20] == counts[200]
