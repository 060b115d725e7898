"""Message retention: `flask messaging purge` blanks old texts and numbers, and nothing else."""

from datetime import timedelta

from sqlalchemy import select

from core.db import utcnow
from messaging.campaigns.results import delivery
from messaging.models import InboundMessage, OutboxMessage
from messaging.outbox import enqueue
from roles.permissions import Role
from tests.builders import login_as

SOURCE = "campaign:7"


def message(db, person, *, days_old, status, channel="sms", body="Spring offer: 2× points"):
    row = enqueue(
        db,
        person_id=person.id,
        channel=channel,
        recipient=person.phone,
        kind="campaign",
        body=body,
        source=SOURCE,
    )
    row.status, row.created_at = status, utcnow() - timedelta(days=days_old)
    if status == "sent":
        row.provider_id, row.provider_status = f"SM{row.id:032d}", "delivered"
    return row


def reply(db, person, *, days_old, sid):
    row = InboundMessage(
        message_sid=sid,
        from_number=person.phone,
        person_id=person.id,
        body="STOP",
        command="STOP",
        reply="You will get no more messages.",
        received_at=utcnow() - timedelta(days=days_old),
    )
    db.add(row)
    return row


def purge(app, *args):
    return app.test_cli_runner().invoke(args=["messaging", "purge", *args])


def test_purge_blanks_old_texts_and_numbers_and_keeps_every_count(app, db, world):
    person = world.people[Role.TECHNICIAN]
    old_sent = message(db, person, days_old=200, status="sent")
    old_failed = message(db, person, days_old=200, status="failed")
    old_pending = message(db, person, days_old=200, status="pending")
    recent = message(db, person, days_old=10, status="sent")
    old_reply = reply(db, person, days_old=200, sid="SM-old")
    recent_reply = reply(db, person, days_old=10, sid="SM-new")
    db.commit()
    results_before = delivery(db, SOURCE)

    result = purge(app)
    assert result.exit_code == 0, result.output
    assert "blanked 2 outgoing and 1 incoming messages" in result.output
    db.expire_all()
    for row in (old_sent, old_failed):
        assert (row.body, row.recipient, row.subject) == ("", "", None)
    assert (old_sent.status, old_sent.kind, old_sent.source, old_sent.person_id) == (
        "sent",
        "campaign",
        SOURCE,
        person.id,
    )
    assert old_sent.provider_status == "delivered" and old_failed.status == "failed"
    assert (old_reply.body, old_reply.from_number, old_reply.reply) == ("", "", "")
    assert old_reply.command == "STOP"  # opt-outs still count for the campaign
    # Waiting to be sent, or younger than the retention: untouched.
    assert old_pending.body and old_pending.recipient == person.phone
    assert recent.body and recent.recipient == person.phone
    assert recent_reply.body == "STOP" and recent_reply.from_number == person.phone
    assert delivery(db, SOURCE) == results_before

    again = purge(app)
    assert again.exit_code == 0 and "blanked 0 outgoing and 0 incoming" in again.output


def test_purge_takes_its_period_from_the_setting_or_the_option(app, db, world, monkeypatch):
    person = world.people[Role.TECHNICIAN]
    month_old = message(db, person, days_old=31, status="sent")
    db.commit()
    monkeypatch.setitem(app.config, "MESSAGE_RETENTION_DAYS", 0)
    kept = purge(app)
    assert kept.exit_code == 0 and "kept" in kept.output
    monkeypatch.setitem(app.config, "MESSAGE_RETENTION_DAYS", 60)
    assert "blanked 0 outgoing" in purge(app).output
    assert "blanked 1 outgoing" in purge(app, "--days", "30").output
    db.expire_all()
    assert month_old.body == ""
    assert purge(app, "--days", "0").exit_code == 2  # a usage error, not a purge of everything


def test_purge_has_help():
    from app import create_app

    runner = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"}).test_cli_runner()
    result = runner.invoke(args=["messaging", "purge", "--help"])
    assert result.exit_code == 0 and "MESSAGE_RETENTION_DAYS" in result.output


def test_a_blanked_in_app_message_leaves_the_inbox(client, db, world):
    person = world.people[Role.TECHNICIAN]
    message(db, person, days_old=200, status="sent", channel="inapp", body="Old news")
    message(db, person, days_old=1, status="sent", channel="inapp", body="Fresh news")
    db.commit()
    purge(client.application)
    login_as(client, person)
    page = client.get("/messaging/inbox").get_data(as_text=True)
    assert "Fresh news" in page and "Old news" not in page
    assert db.scalars(select(OutboxMessage.body).where(OutboxMessage.channel == "inapp")).all()
