"""Twilio's delivery status callbacks: signed, and never moving a message's status backwards."""

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from core.db import get_session
from messaging.models import ChannelBlock, OutboxMessage
from messaging.outbox import enqueue
from messaging.transports import STATUS_CALLBACK_PATH, TwilioTransport
from roles.permissions import Role
from tests.builders import build_world, login_as
from tests.messaging.fake_twilio import ACCOUNT_SID, FakeTwilio
from tests.messaging.fake_twilio import AUTH_TOKEN as FAKE_API_TOKEN
from tests.messaging.twilio_signing import AUTH_TOKEN, next_sid, post_signed

STATUS = "/messaging/twilio/status"


def sent_message(db, person, status="queued"):
    """An outbox message Twilio accepted, as the sender leaves it."""
    message = enqueue(
        db, person_id=person.id, channel="sms", recipient=person.phone, kind="t", body="Hi"
    )
    message.status, message.provider_id, message.provider_status = "sent", next_sid(), status
    db.commit()
    return message


def callback(client, message, status, **extra):
    params = {
        "MessageSid": message if isinstance(message, str) else message.provider_id,
        "MessageStatus": status,
        "AccountSid": ACCOUNT_SID,
        "To": "+37120000001",
        "From": "+37120099999",
        **extra,
    }
    params.setdefault("SmsSid", params["MessageSid"])
    params.setdefault("SmsStatus", status)
    return post_signed(client, STATUS, params)


def statuses(db, client, message, *reported):
    for status in reported:
        assert callback(client, message, status).status_code == 200
    db.refresh(message)
    return message.provider_status


@pytest.fixture
def person(world):
    return world.people[Role.TECHNICIAN]


def test_the_callback_url_is_where_outgoing_messages_send_it(app):
    with app.test_request_context():
        from flask import url_for

        assert url_for("webhooks.twilio_status") == STATUS_CALLBACK_PATH == STATUS


def test_statuses_move_forward_in_order(db, client, twilio_config, person):
    message = sent_message(db, person)
    assert statuses(db, client, message, "sending") == "sending"
    first_at = message.status_at
    assert first_at is not None
    assert statuses(db, client, message, "sent") == "sent"
    assert statuses(db, client, message, "delivered") == "delivered"
    assert message.status_at >= first_at
    assert statuses(db, client, message, "read") == "read"
    assert message.status == "sent" and message.last_error is None


@pytest.mark.parametrize(
    ("reported", "final"),
    [
        (("delivered", "sent", "sending", "queued"), "delivered"),
        (("sent", "delivered", "sent"), "delivered"),
        (("delivered", "delivered"), "delivered"),
        (("read", "delivered", "sent"), "read"),
        (("failed", "sent"), "failed"),
        (("undelivered", "sending", "accepted"), "undelivered"),
        (("sent", "sent", "sending"), "sent"),
        (("delivered", "failed"), "delivered"),  # one final status is enough
    ],
    ids=lambda v: "-".join(v) if isinstance(v, tuple) else v,
)
def test_late_duplicate_or_out_of_order_callbacks_never_go_back(
    db, client, twilio_config, person, reported, final
):
    message = sent_message(db, person)
    assert statuses(db, client, message, *reported) == final


def test_a_repeated_callback_changes_nothing(db, client, twilio_config, person):
    message = sent_message(db, person)
    statuses(db, client, message, "delivered")
    at = message.status_at
    statuses(db, client, message, "delivered", "sent")
    assert message.status_at == at


@pytest.mark.parametrize("status", ["receiving", "received", "bogus", ""])
def test_statuses_of_no_rank_are_ignored(db, client, twilio_config, person, status):
    message = sent_message(db, person)
    response = callback(client, message, status)
    assert response.status_code in (200, 400)
    db.refresh(message)
    assert message.provider_status == "queued" and message.status_at is None


def test_an_unknown_message_sid_is_answered_and_ignored(db, client, twilio_config, person):
    message = sent_message(db, person)
    assert callback(client, "SM" + "f" * 32, "delivered").status_code == 200
    db.refresh(message)
    assert message.provider_status == "queued"


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}],
    ids=["missing", "wrong"],
)
def test_an_unsigned_or_badly_signed_callback_is_refused(
    db, client, twilio_config, person, headers
):
    message = sent_message(db, person)
    params = {"MessageSid": message.provider_id, "MessageStatus": "delivered"}
    assert client.post(STATUS, data=params, headers=headers).status_code == 403
    db.refresh(message)
    assert message.provider_status == "queued"


def test_a_callback_while_no_auth_token_is_configured_is_refused(db, client, twilio_config, person):
    message = sent_message(db, person)
    twilio_config["TWILIO_AUTH_TOKEN"] = None
    assert callback(client, message, "delivered").status_code == 403
    db.refresh(message)
    assert message.provider_status == "queued"


def test_a_permanent_error_code_records_a_permanent_failure(
    db, client, twilio_config, person, monkeypatch
):
    from messaging import delivery_status

    calls = []
    real = delivery_status.record_permanent_failure

    def spy(session, message, code):
        calls.append((message.id, code))
        real(session, message, code)

    monkeypatch.setattr(delivery_status, "record_permanent_failure", spy)
    message = sent_message(db, person)
    statuses(db, client, message, "sent")
    assert callback(client, message, "undelivered", ErrorCode="21610").status_code == 200
    db.refresh(message)
    assert calls == [(message.id, "21610")]
    assert (message.provider_status, message.status, message.last_error) == (
        "undelivered",
        "failed",
        "21610",
    )
    block = db.scalar(select(ChannelBlock).where(ChannelBlock.person_id == person.id))
    assert (block.channel, block.error_code) == ("sms", "21610")
    # Twilio repeating the callback does not record the failure twice.
    assert callback(client, message, "undelivered", ErrorCode="21610").status_code == 200
    assert len(calls) == 1


def test_a_transient_error_code_is_kept_without_blocking(db, client, twilio_config, person):
    message = sent_message(db, person)
    assert callback(client, message, "undelivered", ErrorCode="30003").status_code == 200
    db.refresh(message)
    assert (message.provider_status, message.status, message.last_error) == (
        "undelivered",
        "sent",
        "30003",
    )
    assert db.scalar(select(ChannelBlock)) is None


@pytest.mark.parametrize("code", ["²", "٢١٦١٠", "①"])
def test_an_error_code_that_only_looks_like_digits_is_kept_as_it_came(
    db, client, twilio_config, person, code
):
    message = sent_message(db, person)
    assert callback(client, message, "failed", ErrorCode=code).status_code == 200
    db.refresh(message)
    assert (message.provider_status, message.last_error) == ("failed", code)
    assert db.scalar(select(ChannelBlock)) is None


def test_a_permanent_error_code_with_leading_zeros_blocks_under_its_number(
    db, client, twilio_config, person
):
    message = sent_message(db, person)
    assert callback(client, message, "undelivered", ErrorCode="0" * 40 + "21610").status_code == 200
    block = db.scalar(select(ChannelBlock).where(ChannelBlock.person_id == person.id))
    assert block.error_code == "21610"


def test_outgoing_messages_name_the_status_callback_under_the_public_url(db, world):
    person = world.people[Role.SELLER]
    with FakeTwilio() as fake:
        transport = TwilioTransport(
            {
                "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": FAKE_API_TOKEN,
                "TWILIO_FROM": "+37120099999",
                "TWILIO_API_URL": fake.url,
                "PUBLIC_URL": "https://partnerlift.example.com/",
            }
        )
        message = enqueue(
            db, person_id=person.id, channel="sms", recipient=person.phone, kind="t", body="Hi"
        )
        transport.send(message)
        without = TwilioTransport(
            {
                "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": FAKE_API_TOKEN,
                "TWILIO_FROM": "+37120099999",
                "TWILIO_API_URL": fake.url,
            }
        )
        without.send(message)
    assert fake.received[0]["StatusCallback"] == (
        "https://partnerlift.example.com/messaging/twilio/status"
    )
    assert "StatusCallback" not in fake.received[1]


def test_concurrent_callbacks_end_at_the_highest_status(committed_app):
    """Callbacks racing each other on separate connections: the last write is never lower."""
    app = committed_app
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        message = sent_message(db, world.people[Role.TECHNICIAN])
        message_id = message.id
    reported = ["sending", "sent", "delivered", "sent", "sending", "queued"] * 2
    start = threading.Barrier(len(reported))
    failures = []

    def report(status):
        client = app.test_client()
        start.wait()
        try:
            response = callback(client, message, status)
            assert response.status_code == 200, response.status_code
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))

    saved = app.config.get("TWILIO_AUTH_TOKEN")
    app.config["TWILIO_AUTH_TOKEN"] = AUTH_TOKEN
    try:
        threads = [threading.Thread(target=report, args=(status,)) for status in reported]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        app.config["TWILIO_AUTH_TOKEN"] = saved
    assert failures == []
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"])
    with factory() as session:
        assert session.get(OutboxMessage, message_id).provider_status == "delivered"


def test_whatsapp_read_receipts_are_recorded_and_shown_next_to_delivered(
    db, client, twilio_config, world
):
    from messaging.campaigns.operations import send_campaign
    from messaging.campaigns.results import delivery
    from tests.messaging.campaigns.helpers import BASE, NOW, make_campaign

    campaign = make_campaign(db, roles=("technician",))
    send_campaign(db, campaign, NOW, base_url=BASE)
    rows = db.scalars(select(OutboxMessage).where(OutboxMessage.source == campaign.source)).all()
    for row in rows:
        row.status, row.provider_id, row.provider_status = "sent", next_sid(), "sent"
    db.commit()
    read, delivered = rows[0], rows[1]
    # Read before delivered (callbacks cross): read stays, and counts as delivered too.
    assert statuses(db, client, read, "read", "delivered", "sent") == "read"
    assert statuses(db, client, delivered, "delivered") == "delivered"
    counted = delivery(db, campaign.source)
    assert (counted.delivered, counted.read) == (2, 1)
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get(f"/campaigns/{campaign.id}/results").get_data(as_text=True)
    assert "<dt>Delivered</dt><dd>2</dd>" in page and "<dt>Read</dt><dd>1</dd>" in page
