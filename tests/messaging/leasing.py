"""What a lease must decide, shared by the test of the usual lease (`test_delivery_policy`,
on the test's session) and of the one-statement lease in autocommit (`test_worker_writes`,
on a committed database): the same messages, the same outcome."""

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from messaging.consent import set_consent
from messaging.delivery import lease_due
from messaging.models import OutboxMessage
from messaging.outbox import enqueue
from messaging.policy import Policy
from tests.builders import make_person

NIGHT = Policy(time(21), time(8), nudges_per_week=2)
# 23:30 in Riga (UTC+2 in November) is 21:30 UTC.
RIGA_NIGHT = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)


def queue(db, person, body="Did you know…", category="transactional", channel="sms"):
    return enqueue(
        db,
        person_id=person.id,
        channel=channel,
        recipient=person.phone,
        kind="t",
        body=body,
        category=category,
    )


def check_a_lease_decides_as_one_by_one(session, partner, lease: timedelta, commit, **options):
    """Four messages at Riga's night, one of each fate, leased at once: the critical code and
    New York's daytime message go (in order, attempt 1); the night's waits for Riga's morning;
    the opted-out SMS fails and falls back to e-mail, which the next lease takes. `commit`
    runs before the lease (to make the messages visible to its connection); `options` go to
    `lease_due`."""
    riga = make_person(session, partner, timezone="Europe/Riga")
    new_york = make_person(session, partner, timezone="America/New_York")
    opted = make_person(session, partner, timezone="America/New_York", email="o@example.com")
    set_consent(session, opted.id, "sms", opted_out=True, source="sms:STOP")
    night = queue(session, riga, "Your claim was approved")
    code = queue(session, riga, "Your code: 123456", category="critical")
    day = queue(session, new_york, "Your balance")
    refused = queue(session, opted, "Your balance")
    commit()

    flights, handled = lease_due(
        session, now=RIGA_NIGHT, policy=NIGHT, lease=lease, limit=10, **options
    )

    assert handled == 4
    assert [(f.id, f.body, f.attempts) for f in flights] == [
        (code.id, "Your code: 123456", 1),
        (day.id, "Your balance", 1),
    ]
    rows = {
        m.id: m
        for m in session.scalars(select(OutboxMessage).execution_options(populate_existing=True))
    }
    assert rows[code.id].next_attempt_at == rows[day.id].next_attempt_at == RIGA_NIGHT + lease
    assert (rows[code.id].attempts, rows[day.id].attempts) == (1, 1)
    assert rows[night.id].status == "pending" and rows[night.id].attempts == 0
    assert rows[night.id].next_attempt_at == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    assert rows[refused.id].status == "failed" and rows[refused.id].attempts == 0
    (instead,) = (m for m in rows.values() if m.fallback_of_id == refused.id)
    assert (instead.channel, instead.recipient) == ("email", "o@example.com")
    # Leased messages are not due again until their lease runs out; the e-mail is.
    again, _ = lease_due(session, now=RIGA_NIGHT, policy=NIGHT, lease=lease, limit=10, **options)
    assert [f.id for f in again] == [instead.id]
