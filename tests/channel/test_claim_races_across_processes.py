"""Fifty claims of one serial, or of one invoice line, at once through real server processes
(gunicorn on PostgreSQL), from the web form, the API and SMS: one is approved and paid, every
other one is flagged as a duplicate and its claimant told so, and the ledger reconciles."""

import re
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import requests
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from app import create_app
from channel.claim_models import Claim
from channel.ledger import Activity, LedgerEntry
from channel.postings import check_balances
from core.db import get_session
from tests.builders import build_world, make_api_token, make_person, session_cookie
from tests.channel.test_claim_races import (
    SKU,
    SMS_DUPLICATE_SERIAL,
    TODAY,
    WEB_REVIEWED,
    live_program,
)
from tests.conftest import TEST_CONFIG, migrated_database
from tests.messaging.twilio_signing import AUTH_TOKEN, next_sid, signature
from tests.servers import gunicorn, server_environment

#: The race is PostgreSQL's: SQLite runs one writing transaction at a time.
pytestmark = pytest.mark.postgresql

SECRET_KEY = "claim-races-" + uuid.uuid4().hex
CLAIMS = 50
#: Five claims each: far below the burst rule's floor of ten a day.
PEOPLE = 10
WEB_APPROVED = "Thank you: your claim is approved."
SMS_APPROVED = "Install %s is registered. Thank you!"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    with migrated_database("postgresql", tmp_path_factory) as url:
        app = create_app({**TEST_CONFIG, "SECRET_KEY": SECRET_KEY, "DATABASE_URL": url})
        with app.test_request_context():
            db = get_session()
            world = build_world(db)
            staff = {
                role: [make_person(db, world.partner_a, [role]) for _ in range(PEOPLE)]
                for role in ("technician", "seller")
            }
            live_program(db, world)
            _, api_headers = make_api_token(db, scope="write", partner=world.partner_a)
            seeded = SimpleNamespace(
                url=url,
                api_headers=api_headers,
                staff={
                    role: [
                        (person.id, person.phone, session_cookie(app, db, person))
                        for person in people
                    ]
                    for role, people in staff.items()
                },
            )
            db.commit()
        app.extensions["partnerlift.engine"].dispose()
        yield seeded


@pytest.fixture(scope="module")
def base(seeded, tmp_path_factory):
    env = server_environment(
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=seeded.url,
        SESSION_COOKIE_SECURE="0",
        NUDGE_HOLDOUT_PERCENT="0",
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
    )
    log = tmp_path_factory.mktemp("gunicorn") / "stderr.log"
    with log.open("w") as stderr, gunicorn(env, workers=4, stderr=stderr) as (_process, base):
        yield base


@dataclass
class Answer:
    channel: str
    #: What the claimant is told: the page's message, the SMS reply, or the API's claim
    #: status and flags.
    told: str


class Claimant:
    """One claim, ready to send: its browser signed in and holding a CSRF token, or its API
    request, or its signed SMS."""

    def __init__(self, base, seeded, channel, person, path, fields):
        self.base, self.channel, self.fields = base, channel, fields
        person_id, phone, cookie = person
        self.path = path
        if channel == "web":
            self.browser = requests.Session()
            self.browser.cookies.set("session", cookie, domain="127.0.0.1")
            form = self.browser.get(base + path, timeout=10)
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert form.status_code == 200 and token, form.text[:500]
            self.fields = {**fields, "csrf_token": token.group(1)}
        elif channel == "api":
            self.headers = seeded.api_headers
            self.fields = {**fields, "person_id": person_id}
        else:
            self.fields = {"MessageSid": next_sid(), "From": phone, **fields}
            self.headers = {"X-Twilio-Signature": signature(base + path, self.fields)}

    def send(self):
        if self.channel == "web":
            return self.browser.post(
                self.base + self.path, data=self.fields, allow_redirects=False, timeout=60
            )
        if self.channel == "api":
            return requests.post(
                self.base + self.path, json=self.fields, headers=self.headers, timeout=60
            )
        return requests.post(
            self.base + self.path, data=self.fields, headers=self.headers, timeout=60
        )

    def answer(self, response) -> Answer:
        if self.channel == "web":
            assert response.status_code == 302, response.text[:500]
            page = self.browser.get(self.base + response.headers["Location"], timeout=10).text
            told = [m for m in (WEB_APPROVED, WEB_REVIEWED) if m in page]
            return Answer("web", " ".join(told))
        if self.channel == "api":
            assert response.status_code == 201, response.text[:500]
            claim = response.json()
            return Answer("api", f"{claim['status']} {claim['flags']}")
        assert response.status_code == 200, response.text[:500]
        found = re.findall(r"<Message>(.*?)</Message>", response.text, re.S)
        return Answer("sms", found[0] if found else "")


def race(claimants: list[Claimant]) -> list[Answer]:
    """Send every claim at once; the answers in the same order."""
    start = threading.Barrier(len(claimants))

    def send(claimant):
        start.wait()
        return claimant.send()

    with ThreadPoolExecutor(len(claimants)) as pool:
        responses = list(pool.map(send, claimants))
    return [
        claimant.answer(response) for claimant, response in zip(claimants, responses, strict=True)
    ]


def outcome(url: str, key: str) -> tuple[Counter, int, list]:
    """(the claims of `key` by status and flags, the points they earned, ledger problems)."""
    engine = create_engine(url)
    with Session(engine) as db:
        claims = db.scalars(
            select(Claim).where((Claim.serial == key) | (Claim.invoice_number == key))
        ).all()
        earned = db.scalar(
            select(func.coalesce(func.sum(LedgerEntry.points), 0))
            .join(Activity, Activity.id == LedgerEntry.activity_id)
            .where(Activity.claim_id.in_([claim.id for claim in claims]))
        )
        problems = check_balances(db)
    engine.dispose()
    return Counter((claim.status, tuple(claim.flags)) for claim in claims), earned, problems


def test_fifty_claims_of_one_serial_at_once_approve_one_and_flag_the_rest(seeded, base):
    serial = f"SN-{uuid.uuid4().hex[:8]}".upper()
    channels = ("web", "api", "sms")
    claimants = []
    for n in range(CLAIMS):
        channel, person = channels[n % 3], seeded.staff["technician"][n % PEOPLE]
        if channel == "web":
            path, fields = "/claims/new/install", {"serial": serial, "occurred_on": str(TODAY)}
        elif channel == "api":
            path = "/api/v1/claims"
            fields = {"kind": "install", "serial": serial, "occurred_on": str(TODAY)}
        else:
            path, fields = "/messaging/twilio/inbound", {"Body": f"CLAIM {serial.lower()}"}
        claimants.append(Claimant(base, seeded, channel, person, path, fields))

    answers = race(claimants)

    claims, earned, problems = outcome(seeded.url, serial)
    print(f"one serial: {claims[('approved', ())]} of {CLAIMS} approved")
    assert claims == {("approved", ()): 1, ("pending", ("duplicate_serial",)): CLAIMS - 1}
    assert (earned, problems) == (50, [])
    told = Counter(answer.told for answer in answers)
    assert told[WEB_APPROVED] + told["approved []"] + told[SMS_APPROVED % serial] == 1
    losers = ("pending ['duplicate_serial']", WEB_REVIEWED, SMS_DUPLICATE_SERIAL % serial)
    assert sum(told[message] for message in losers) == CLAIMS - 1


def test_fifty_claims_of_one_invoice_line_at_once_approve_one_and_flag_the_rest(seeded, base):
    invoice = f"INV-{uuid.uuid4().hex[:8]}".upper()
    claimants = []
    for n in range(CLAIMS):
        person = seeded.staff["seller"][n % PEOPLE]
        if n % 2:
            path = "/claims/new/sale"
            fields = {
                "invoice_number": invoice.lower(),
                "occurred_on": str(TODAY),
                "sku-0": SKU,
                "qty-0": "1",
            }
            claimants.append(Claimant(base, seeded, "web", person, path, fields))
        else:
            fields = {
                "kind": "sale",
                "invoice_number": invoice,
                "occurred_on": str(TODAY),
                "lines": [{"sku": SKU.lower(), "quantity": 1}],
            }
            claimants.append(Claimant(base, seeded, "api", person, "/api/v1/claims", fields))

    answers = race(claimants)

    claims, earned, problems = outcome(seeded.url, invoice)
    print(f"one invoice line: {claims[('approved', ())]} of {CLAIMS} approved")
    assert claims == {("approved", ()): 1, ("pending", ("duplicate_invoice_line",)): CLAIMS - 1}
    assert (earned, problems) == (10, [])
    told = Counter(answer.told for answer in answers)
    assert told[WEB_APPROVED] + told["approved []"] == 1
    losers = ("pending ['duplicate_invoice_line']", WEB_REVIEWED)
    assert sum(told[message] for message in losers) == CLAIMS - 1
