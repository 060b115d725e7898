"""The database connection lost at any statement of a request: the answer is a calm 503,
never a 500; nothing of the request is saved, or, lost after its change was committed, the
page says the change was saved.

`tests/test_database_restart.py` restarts a whole server under load and so reaches the
statements a request happens to be at; here the request's own server process is ended
(`pg_terminate_backend`, waiting until it is gone) just before its k-th statement, for
every k, so every statement of the flows a field technician uses on a phone is reached.
PostgreSQL only: SQLite has no connection to lose.
"""

import io
import re
from contextlib import contextmanager
from dataclasses import dataclass
from unittest.mock import patch

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.orm import Session

from channel.claim_models import Claim
from channel.ledger import LedgerEntry
from channel.models import Enrollment, ProgramDecision
from channel.postings import check_balances
from channel.programs import launch_program
from channel.rewards import Redemption, Reward
from core.bulk import BulkWriter
from core.db import get_session
from roles.models import Person, SignInSession
from roles.permissions import Role
from tests.builders import (
    PASSWORD,
    add_scheme,
    approve,
    build_world,
    give_points,
    login_as,
    make_group,
    make_person,
    make_product,
    make_program,
    offer,
    offered,
    utc_today,
)
from tests.messaging.test_inbound import INBOUND, inbound_params
from tests.messaging.twilio_signing import AUTH_TOKEN, LOCAL_BASE, post_signed

pytestmark = pytest.mark.postgresql


class Killer:
    """Ends the server process of the connection about to run the `at`-th statement sent
    through `engine` (counted from `arm`; a COMMIT counts as one), before that statement
    goes."""

    def __init__(self, engine, admin):
        self.engine, self.admin = engine, admin
        self.count, self.at, self.statement = 0, None, None

    def _next(self, connection, statement):
        self.count += 1
        if self.count == self.at:
            self.statement = statement
            pid = connection.connection.dbapi_connection.info.backend_pid
            with self.admin.connect() as admin:
                assert admin.scalar(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})

    def _statement(self, connection, cursor, statement, parameters, context, executemany):
        self._next(connection, statement)

    def _commit(self, connection):
        self._next(connection, "COMMIT")

    def _raw(self, method):
        """`core.bulk.BulkWriter`'s `method`, which sends on the driver's own cursor (COPY,
        nextval), unseen by SQLAlchemy's events: counted too."""
        original = getattr(BulkWriter, method)

        def counted(writer, table, *args, **kwargs):
            self._next(writer.connection, f"{method} {table.name}")
            return original(writer, table, *args, **kwargs)

        return patch.object(BulkWriter, method, counted)

    @contextmanager
    def arm(self, at):
        self.count, self.at, self.statement = 0, at, None
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        try:
            with self._raw("insert"), self._raw("next_ids"):
                yield
        finally:
            event.remove(self.engine, "before_cursor_execute", self._statement)
            event.remove(self.engine, "commit", self._commit)


#: Programs offered to partner B: more than an approval sends statements.
OFFERED = 160


@dataclass
class Seeded:
    technician_id: int
    technician_phone: str
    seller_phone: str
    manager_id: int
    reward_id: int
    partner_b_id: int
    partner_b_manager_id: int
    offered_to_b: list[int]


@pytest.fixture(scope="module")
def seeded(committed_postgres_app):
    app = committed_postgres_app
    with app.app_context():
        db = get_session()
        world = build_world(db)
        technician = make_person(db, world.partner_a, ["technician"])
        seller = world.people[Role.SELLER]
        make_product(db, make_group(db, "boilers", points=10), "BX-24")
        program = make_program(db, partners=[world.partner_a])
        add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
        add_scheme(
            db,
            program,
            ["seller"],
            ("unit_sold", {"product_group": "boilers", "points_per_unit": 10}),
        )
        offer(db, program, world.people[Role.CHANNEL_MANAGER])
        approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
        launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
        give_points(db, technician, 100_000)
        # Programs offered to partner B, one for each approval its manager sends.
        offered_to_b = []
        for n in range(OFFERED):
            other = make_program(db, partners=[world.partner_b], name=f"Offer {n}")
            add_scheme(db, other, ["technician"], ("install", {"points_per_install": 20}))
            offer(db, other, world.people[Role.CHANNEL_MANAGER])
            offered_to_b.append(other.id)
        reward = offered(Reward(kind="physical", name="Mug", points_price=10, stock=100_000))
        db.add(reward)
        db.commit()
        seeded = Seeded(
            technician.id,
            technician.phone,
            seller.phone,
            world.people[Role.CHANNEL_MANAGER].id,
            reward.id,
            world.partner_b.id,
            world.others[Role.PARTNER_MANAGER].id,
            offered_to_b,
        )
    app.extensions["partnerlift.engine"].dispose()
    return seeded


def _saved(engine):
    """What the requests have saved (claims, redemptions, ledger entries, program decisions,
    enrolments, sign-in sessions), and what the balances' reconciliation finds amiss."""
    with Session(engine) as db:
        saved = tuple(
            db.scalar(select(func.count(column)))
            for column in (
                Claim.id,
                Redemption.id,
                LedgerEntry.id,
                ProgramDecision.id,
                Enrollment.id,
                SignInSession.id,
            )
        )
        return saved, check_balances(db)


def _form(client, path, *, person_id):
    """Signs `person_id` in and returns the CSRF token of the form at `path`."""
    with client.application.app_context():
        login_as(client, get_session().get(Person, person_id))
    page = client.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _install(client, seeded):
    token = _form(client, "/claims/new/install", person_id=seeded.technician_id)
    return lambda n: client.post(
        "/claims/new/install",
        data={"serial": f"LOST-{n}", "occurred_on": utc_today(), "csrf_token": token},
    )


def _redeem(client, seeded):
    path = f"/rewards/{seeded.reward_id}/redeem"
    token = _form(client, path, person_id=seeded.technician_id)
    return lambda n: client.post(
        path,
        data={
            "request_key": f"lost-{n}",
            "shipping_address": "Brīvības iela 1, Rīga",
            "confirm": "yes",
            "csrf_token": token,
        },
    )


def _import(client, seeded):
    token = _form(client, "/claims/import", person_id=seeded.manager_id)

    def upload(n):
        lines = "".join(
            f"LOST-{n}-{i},1,{utc_today()},BX-24,{i},{seeded.seller_phone}\n" for i in range(1, 13)
        )
        data = f"invoice_number,line,date,sku,quantity,seller\n{lines}".encode()
        return client.post(
            "/claims/import",
            data={"file": (io.BytesIO(data), "sales.csv"), "csrf_token": token},
            content_type="multipart/form-data",
        )

    return upload


def _texted_install(client, seeded):
    app = client.application
    app.config.update(TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_URL=LOCAL_BASE)
    return lambda n: post_signed(
        client, INBOUND, inbound_params(seeded.technician_phone, f"CLAIM SMS{n}")
    )


def _approve(client, seeded):
    b, programs = seeded.partner_b_id, seeded.offered_to_b
    token = _form(
        client, f"/partners/{b}/programs/{programs[0]}", person_id=seeded.partner_b_manager_id
    )
    return lambda n: client.post(
        f"/partners/{b}/programs/{programs[n]}",
        data={"outcome": "approve", "roles": ["technician"], "csrf_token": token},
    )


def _password_sign_in(client, seeded):
    """A manager signs in with a password: the credentials are checked and their sign-in time
    committed, then the browser's sign-in session is written and committed."""
    app = client.application
    app.config["LOGIN_RATE_LIMIT"] = "100000 per minute"
    with app.app_context():
        email = get_session().get(Person, seeded.manager_id).email

    def sign_in(_n):
        browser = app.test_client()
        return browser.post("/sign-in", data={"email": email, "password": PASSWORD})

    return sign_in


FLOWS = {
    "install claim": _install,
    "redemption": _redeem,
    "sell-out import": _import,
    "texted install": _texted_install,
    "program approval": _approve,
    "password sign-in": _password_sign_in,
}
#: What each flow answers when it went through.
DONE = {
    "install claim": {302},
    "redemption": {303},
    "sell-out import": {200},
    "texted install": {200},
    "program approval": {302},
    "password sign-in": {302},
}


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_a_connection_lost_at_any_statement_answers_503_and_says_whether_it_was_saved(
    committed_postgres_app, seeded, flow
):
    app = committed_postgres_app
    engine = app.extensions["partnerlift.engine"]
    # The killer's connection, which also counts what was saved.
    admin = create_engine(app.config["DATABASE_URL"], isolation_level="AUTOCOMMIT")
    killer = Killer(engine, admin)
    request = FLOWS[flow](app.test_client(), seeded)

    # A request that goes through, counting its statements.
    before, _ = _saved(admin)
    with killer.arm(None):
        answer = request(0)
    assert answer.status_code in DONE[flow], answer.text[:500]
    after, _ = _saved(admin)
    assert after != before
    statements = killer.count
    assert statements > 5

    for at in range(1, statements + 1):
        before = after
        with killer.arm(at):
            answer = request(at)
        after, problems = _saved(admin)
        assert problems == [], (at, killer.statement, problems)
        assert answer.status_code in {503} | DONE[flow], (
            at,
            killer.statement,
            answer.status_code,
            answer.text[:300],
        )
        if answer.status_code == 503:
            # Lost before the commit: nothing saved; after it (the page after a saved
            # change): the page says the change was saved.
            assert "Briefly unavailable" in answer.text, at
            said_saved = "was saved" in answer.text
            assert said_saved == (after != before), (at, killer.statement, before, after)
        else:
            assert after != before, (at, killer.statement, answer.status_code)
    admin.dispose()
