"""The outbox sends through the real twilio client, here against a local fake of Twilio's API."""

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import utcnow
from messaging.delivery import deliver_next
from messaging.models import ChannelBlock, OutboxMessage
from messaging.outbox import enqueue
from messaging.whatsapp import record_inbound
from roles.permissions import Role


def message(db, person, channel="sms", body="Hello", priority=0):
    return enqueue(
        db,
        person_id=person.id,
        channel=channel,
        recipient=person.phone,
        kind="t",
        body=body,
        priority=priority,
    )


def deliver(db, transport, at=None):
    return deliver_next(db, transport, now=at or utcnow(), max_attempts=3, rng=random.Random(7))


def test_a_message_goes_out_through_the_twilio_client(db, world, fake, transport):
    person = world.people[Role.TECHNICIAN]
    queued = message(db, person, body="Your points: 120")
    sent = deliver(db, transport)
    assert sent.id == queued.id and sent.status == "sent"
    assert sent.provider_id.startswith("SM") and sent.provider_status == "queued"
    (request,) = fake.received
    assert (request["To"], request["From"], request["Body"]) == (
        person.phone,
        "+37120099999",
        "Your points: 120",
    )


def test_whatsapp_goes_to_the_whatsapp_address(db, world, fake, transport):
    person = world.people[Role.SELLER]
    record_inbound(db, person.id, utcnow())  # inside the window: free text
    message(db, person, channel="whatsapp")
    deliver(db, transport)
    assert fake.received[0]["To"] == f"whatsapp:{person.phone}"
    assert fake.received[0]["From"] == "whatsapp:+37120099999"


@pytest.mark.parametrize("failure", [(429, 20429), (500, 20500), (503, 20503), "timeout"], ids=str)
def test_transient_failures_are_retried_later(db, world, fake, transport, failure):
    person = world.people[Role.TECHNICIAN]
    fake.script[person.phone].append(failure)
    now = utcnow()
    first = message(db, person)
    attempt = deliver(db, transport, now)
    assert (attempt.status, attempt.attempts) == ("pending", 1) and attempt.next_attempt_at > now
    assert deliver(db, transport, now) is None  # not due yet
    retried = deliver(db, transport, now + timedelta(hours=2))
    assert retried.id == first.id and retried.status == "sent"


def test_transient_failures_stop_after_the_last_attempt(db, world, fake, transport):
    person = world.people[Role.TECHNICIAN]
    fake.script[person.phone].extend([(500, 20500)] * 5)
    message(db, person)
    moment = utcnow()
    for _ in range(3):
        last = deliver(db, transport, moment)
        moment += timedelta(days=1)
    assert (last.status, last.attempts) == ("failed", 3)
    assert deliver(db, transport, moment) is None


@pytest.mark.parametrize("code", [21211, 21610, 21614, 63024])
def test_permanent_failures_stop_at_once_and_block_the_channel(db, world, fake, transport, code):
    person = world.people[Role.TECHNICIAN]
    fake.script[person.phone].append((400, code))
    message(db, person)
    failed = deliver(db, transport)
    assert (failed.status, failed.last_error, failed.attempts) == ("failed", str(code), 1)
    block = db.scalar(select(ChannelBlock).where(ChannelBlock.person_id == person.id))
    assert (block.channel, block.error_code) == ("sms", str(code))
    # Not tried on SMS again: the message went on by the person's next channel instead.
    instead = deliver(db, transport, utcnow() + timedelta(days=1))
    assert instead.fallback_of_id == failed.id and instead.channel in ("email", "inapp")
    assert instead.status == "sent" and instead.body == failed.body
    assert f"sent by {instead.channel} instead" in failed.note
    assert deliver(db, transport, utcnow() + timedelta(days=1)) is None
    assert len(fake.received) == 1


def test_sign_in_codes_jump_the_queue(db, world, fake, transport):
    person = world.people[Role.TECHNICIAN]
    for n in range(3):
        message(db, person, body=f"news {n}")
    message(db, person, body="code 123456", priority=10)
    assert deliver(db, transport).body == "code 123456"


def test_a_rolled_back_change_sends_nothing(db, world, fake, transport):
    person = world.people[Role.TECHNICIAN]
    nested = db.begin_nested()
    message(db, person)
    nested.rollback()
    assert deliver(db, transport) is None and fake.received == []
    assert db.scalar(select(OutboxMessage).where(OutboxMessage.person_id == person.id)) is None


def test_the_fake_keeps_the_clients_connection_as_twilio_does(db, world, fake, transport):
    """Both the worker and the benchmark's bare loop send over one kept-alive connection,
    as to Twilio's real API: neither pays a TCP connect a message."""
    person = world.people[Role.TECHNICIAN]
    for n in range(3):
        message(db, person, body=f"Message {n}")
        assert deliver(db, transport).status == "sent"
    assert len(fake.accepted) == 3
    assert fake._server.accepted == 1
