"""A claim's SQL statements do not grow with the programs offered to the claimant's company.

The company is offered programs and approves some. A claim reads which ones it approved (for
the fraud rules, the serial checks and the earning) set-wise, and each check reads what it
shares with the others once: a company offered twelve programs costs a claim no more
statements than one offered two. The programs that pay for the claim are locked, and their
usage and enrolments read, together; only each one's posting costs statements of its own.
"""

import itertools

from channel.approvals import DecisionDetails, decide
from channel.programs import launch_program
from roles.permissions import Role
from tests.builders import add_scheme, approve, login_as, make_program, offer
from tests.channel.test_serial_checks import TODAY, shipments
from tests.statements import statements_sent

#: What each program offered beyond the paying ones is, in turn: each reads differently.
OTHERS = ("undecided", "declined", "approved for orders", "approved, not launched", "draft")
#: Statements of a claim on the web with one paying program, the request's own included (the
#: sign-in session, the claimant, the rollups, the nudge; SQLite sends 1-2 fewer): a bound, so
#: that a new statement per claim is a decision, not an accident. Before the programs were
#: read set-wise, 93 and 71 with two programs offered, 145 and 91 with twelve.
MOST_STATEMENTS = {"install": 61, "sale": 65}

_numbers = itertools.count(1)


def programs_offered(db, world, *, paying: int, others: int) -> None:
    """Offer partner A `paying` live programs it approved, paying its technicians' installs
    and its sellers' sales, and `others` more that pay neither: undecided, declined, approved
    but paying only orders, approved but not launched, or still a draft."""
    channel_manager = world.people[Role.CHANNEL_MANAGER]
    manager = world.people[Role.PARTNER_MANAGER]
    kinds = ["paying"] * paying + [OTHERS[n % len(OTHERS)] for n in range(others)]
    for kind in kinds:
        program = make_program(db, partners=[world.partner_a], name=f"{kind} {next(_numbers)}")
        if kind == "approved for orders":
            add_scheme(db, program, ["procurement"], ("portal_order", {"points_per_order": 5}))
        else:
            add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
            add_scheme(
                db,
                program,
                ["seller"],
                ("unit_sold", {"product_group": "boilers", "points_per_unit": 10}),
            )
        if kind == "draft":
            continue
        offer(db, program, channel_manager)
        if kind == "declined":
            details = DecisionDetails(approve=False, reason="Not for us")
            decide(db, program, world.partner_a, details, actor_id=manager.id)
        elif kind != "undecided":
            approve(db, program, world.partner_a, manager)
        if kind in ("paying", "approved for orders"):
            launch_program(db, program, actor_id=channel_manager.id)
    db.commit()


def install_on_the_web(client, serial):
    return client.post(
        "/claims/new/install", data={"occurred_on": TODAY.isoformat(), "serial": serial}
    )


def sale_on_the_web(client, invoice):
    return client.post(
        "/claims/new/sale",
        data={
            "occurred_on": TODAY.isoformat(),
            "invoice_number": invoice,
            "sku-0": "BX-24",
            "qty-0": "1",
        },
    )


def statements_of_claims(app, client, world, serials, invoices) -> dict[str, int]:
    """Statements of an install (of `serials[1]`) and a sale (on `invoices[1]`) claimed on the
    web, each after a first one (on `serials[0]`, `invoices[0]`) that opened the claimant's
    balance rows."""
    engine = app.extensions["partnerlift.engine"]
    counts = {}
    for kind, person, claim, keys in (
        ("install", world.people[Role.TECHNICIAN], install_on_the_web, serials),
        ("sale", world.people[Role.SELLER], sale_on_the_web, invoices),
    ):
        login_as(client, person)
        assert claim(client, keys[0]).status_code == 302
        with statements_sent(engine) as sent:
            response = claim(client, keys[1])
        assert response.status_code == 302
        counts[kind] = len(sent)
    return counts


def test_a_claim_costs_as_many_statements_with_twelve_programs_offered_as_with_two(
    app, client, db, world
):
    shipments(db, world)
    programs_offered(db, world, paying=1, others=1)
    two = statements_of_claims(app, client, world, ["B0001", "B0002"], ["INV-1", "INV-2"])
    programs_offered(db, world, paying=0, others=10)
    twelve = statements_of_claims(app, client, world, ["B0003", "B0004"], ["INV-3", "INV-4"])
    assert twelve == two
    assert all(two[kind] <= most for kind, most in MOST_STATEMENTS.items()), two


#: What each paying program beyond the first may add to a claim's statements: its posting
#: (the entries, the balance moves, the rollups and people's months). The row lock, the usage
#: the caps and budget count, and the enrolment are read for all paying programs at once.
#: Before they were, each paying program cost 18 more on PostgreSQL.
MOST_PER_PAYING_PROGRAM = 8


def test_a_claim_paid_by_three_programs_costs_a_posting_more_per_program_than_one_paid_by_one(
    app, client, db, world
):
    shipments(db, world)
    programs_offered(db, world, paying=1, others=0)
    one = statements_of_claims(app, client, world, ["B0001", "B0002"], ["INV-1", "INV-2"])
    programs_offered(db, world, paying=2, others=0)
    three = statements_of_claims(app, client, world, ["B0003", "B0004"], ["INV-3", "INV-4"])
    assert all(three[kind] - one[kind] <= 2 * MOST_PER_PAYING_PROGRAM for kind in one), (one, three)
