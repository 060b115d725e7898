"""The messaging provider down for minutes: the outbox grows, then drains, and nothing is lost.

Twilio (a local fake) answers 503, then refuses connections, then answers 500, while sign-in
codes and answers keep being queued; then it comes back. The worker's own delivery
(`flask messaging deliver`, as cron or the worker runs it) retries with its backoff. The
clock is time-machine's, so ten minutes of outage take seconds; with PARTNERLIFT_SOAK=1 the
outage lasts three minutes of real time.
"""

import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from channel.postings import check_balances
from messaging.models import OutboxMessage
from messaging.outbox import enqueue
from tests.builders import make_person
from tests.conftest import SOAK
from tests.messaging.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.servers import free_port

#: How often the test queues messages and runs a delivery, in (simulated) seconds.
STEP = 10


class SimulatedClock:
    def __init__(self, traveller):
        self.traveller = traveller

    def advance(self, seconds: float) -> None:
        self.traveller.shift(timedelta(seconds=seconds))


class RealClock:
    """The soak version waits for real: the provider really is down for minutes."""

    def advance(self, seconds: float) -> None:
        time.sleep(seconds)


@contextmanager
def clock_of(kind: str):
    if kind == "real":
        yield RealClock()
        return
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False) as traveller:
        yield SimulatedClock(traveller)


@pytest.fixture
def twilio(app, monkeypatch):
    with FakeTwilio() as fake:
        for key, value in {
            "MESSAGING_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM": "+37120099999",
            "TWILIO_API_URL": fake.url,
            "TWILIO_TIMEOUT_SECONDS": 2,
            "MESSAGING_SMS_RATE": 0,
            "MESSAGING_MAX_ATTEMPTS": 8,
        }.items():
            monkeypatch.setitem(app.config, key, value)
        yield fake


def deliver(app) -> str:
    result = app.test_cli_runner().invoke(args=["messaging", "deliver", "--limit", "10000"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.output


def statuses(db) -> Counter:
    counts = db.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    return Counter(dict(counts.all()))


#: (minutes down, whether some messages run out of tries, whose clock).
OUTAGES = [(10, False, "simulated"), (25, True, "simulated")]
if SOAK:
    OUTAGES.append((3, False, "real"))


@pytest.mark.parametrize(("outage_minutes", "some_give_up", "clock_kind"), OUTAGES)
def test_messages_queued_while_the_provider_is_down_are_sent_once_it_is_back(
    app, db, world, twilio, monkeypatch, outage_minutes, some_give_up, clock_kind
):
    with clock_of(clock_kind) as clock:
        queued, pending_seen = outage_then_recovery(
            app, db, world, twilio, monkeypatch, clock, outage_minutes
        )
    if not some_give_up:
        assert pending_seen[-1] == len(queued)  # the outbox held every message queued
    rows = {m.id: m for m in db.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(queued)))}
    by_status = Counter(message.status for message in rows.values())
    print(f"{outage_minutes} min outage, {len(queued)} queued: {dict(by_status)}, "
          f"{len(twilio.received)} requests")  # fmt: skip

    # Every message is accounted for: sent exactly once, or failed with the reason.
    assert sorted(rows) == sorted(queued)
    assert set(by_status) <= {"sent", "failed"}
    taken = Counter(form["Body"] for form in twilio.accepted)
    for message in rows.values():
        if message.status == "sent":
            assert taken[message.body] == 1 and message.provider_id, message.id
        else:
            assert taken[message.body] == 0 and message.last_error in ("20503", "20500", "timeout")
            assert message.attempts == app.config["MESSAGING_MAX_ATTEMPTS"]
    assert sum(taken.values()) == by_status["sent"]
    # The backoff gives up only after its tries (about ten minutes of them).
    assert bool(by_status["failed"]) is some_give_up
    assert by_status["sent"] >= len(queued) // 2
    assert check_balances(db) == []


def outage_then_recovery(app, db, world, twilio, monkeypatch, clock, outage_minutes):
    """Queue two messages a step while the provider is down, then drain; returns the ids
    queued and the pending count after each step of the outage."""
    people = [make_person(db, world.partner_a, ["technician"]) for _ in range(5)]
    db.commit()
    queued: list[int] = []

    def queue_two(n: int) -> None:
        person = people[n % len(people)]
        code = enqueue(
            db,
            person_id=person.id,
            channel="sms",
            recipient=person.phone,
            kind="sign_in_code",
            body=f"{n:06d} is your PartnerLift code.",
            priority=10,
            category="critical",
        )
        answer = enqueue(
            db,
            person_id=person.id,
            channel="sms",
            recipient=person.phone,
            kind="claim_approved",
            body=f"Claim {n} approved: 50 points.",
        )
        db.commit()
        queued.extend((code.id, answer.id))

    dead_port = f"http://127.0.0.1:{free_port()}"
    outage = [("answer", (503, 20503)), ("refuse", None), ("answer", (500, 20500))]
    step = STEP if isinstance(clock, SimulatedClock) else 5
    steps = outage_minutes * 60 // step
    pending_seen = []
    for n in range(steps):
        how, answer = outage[n * len(outage) // steps]
        twilio.outage = answer
        monkeypatch.setitem(
            app.config, "TWILIO_API_URL", dead_port if how == "refuse" else twilio.url
        )
        queue_two(n)
        deliver(app)
        counts = statuses(db)
        assert counts["sent"] == 0 and counts["pending"] + counts["failed"] == len(queued)
        pending_seen.append(counts["pending"])
        clock.advance(step)
    assert twilio.accepted == []
    # The outbox grows while the provider is down; only after its ten minutes of tries does
    # a message give up.
    first_ten_minutes = pending_seen[: 600 // step]
    assert first_ten_minutes == list(range(2, 2 * len(first_ten_minutes) + 1, 2))
    twilio.outage = None
    monkeypatch.setitem(app.config, "TWILIO_API_URL", twilio.url)
    for _ in range(600):  # at most 100 (simulated) minutes to drain
        if not statuses(db)["pending"]:
            break
        deliver(app)
        clock.advance(step)
    db.expire_all()
    return queued, pending_seen
