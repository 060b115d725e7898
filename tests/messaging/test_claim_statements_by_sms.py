"""A claim texted in costs as many statements whatever the programs offered to the company."""

from roles.permissions import Role
from tests.channel.test_claim_statements import programs_offered
from tests.channel.test_serial_checks import shipments
from tests.messaging.test_inbound import reply_to
from tests.statements import statements_sent

#: Statements of a texted claim with one paying program, the webhook's own included (the
#: signature, the sender, the inbound message and the answer; SQLite sends 1-2 fewer): a
#: bound, as for the web's. Before the programs were read set-wise, 98 and 76 with two
#: programs offered, 150 and 96 with twelve.
MOST_STATEMENTS = {"install": 66, "sale": 70}


def statements_of_texted_claims(app, client, world, serials, invoices) -> dict[str, int]:
    """Statements of an install (of `serials[1]`) and a sale (on `invoices[1]`) texted in,
    each after a first one."""
    engine = app.extensions["partnerlift.engine"]
    counts = {}
    for kind, person, texts in (
        ("install", world.people[Role.TECHNICIAN], [f"CLAIM {serial}" for serial in serials]),
        ("sale", world.people[Role.SELLER], [f"SALE {invoice} BX-24 1" for invoice in invoices]),
    ):
        assert "registered" in reply_to(client, person, texts[0])
        with statements_sent(engine) as sent:
            answer = reply_to(client, person, texts[1])
        assert "registered" in answer, answer
        counts[kind] = len(sent)
    return counts


def test_a_texted_claim_costs_as_many_statements_with_twelve_programs_offered_as_with_two(
    app, client, db, world, twilio_config
):
    shipments(db, world)
    programs_offered(db, world, paying=1, others=1)
    two = statements_of_texted_claims(app, client, world, ["B0001", "B0002"], ["T-1", "T-2"])
    programs_offered(db, world, paying=0, others=10)
    twelve = statements_of_texted_claims(app, client, world, ["B0003", "B0004"], ["T-3", "T-4"])
    assert twelve == two
    assert all(two[kind] <= most for kind, most in MOST_STATEMENTS.items()), two
