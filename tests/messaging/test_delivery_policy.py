"""Quiet hours, the weekly nudge cap, consent and fallback, decided when a message is due."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from messaging.consent import set_consent
from messaging.delivery import deliver_next
from messaging.models import ChannelBlock, OutboxMessage
from messaging.policy import Policy, parse_quiet_hours, quiet_until
from messaging.transports import (
    ChannelRouter,
    DevelopmentTransport,
    InAppTransport,
    PermanentFailure,
)
from messaging.whatsapp import record_inbound
from tests.builders import make_person
from tests.messaging.leasing import NIGHT, RIGA_NIGHT, check_a_lease_decides_as_one_by_one, queue


class Recorder:
    """A transport that keeps what it was asked to send; `refuse` channels fail for good."""

    def __init__(self, refuse=()):
        self.sent, self.refuse = [], dict(refuse)

    def send(self, message):
        if message.channel in self.refuse:
            raise PermanentFailure(self.refuse[message.channel])
        self.sent.append((message.channel, message.body))
        return f"rec-{message.id}", "delivered"


def deliver(db, transport, now, policy=NIGHT):
    return deliver_next(db, transport, now=now, policy=policy)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21:00-08:00", (time(21), time(8))),
        ("", (None, None)),
        ("13:00 - 14:30", (time(13), time(14, 30))),
    ],
)
def test_quiet_hours_setting(text, expected):
    assert parse_quiet_hours(text) == expected


def test_a_broken_quiet_hours_setting_is_refused_clearly():
    with pytest.raises(RuntimeError, match="21:00-08:00"):
        parse_quiet_hours("late")


@pytest.mark.parametrize(
    ("zone", "utc", "until"),
    [
        # 23:30 in Riga → wait until 08:00 Riga the next morning (06:00 UTC).
        ("Europe/Riga", datetime(2026, 11, 23, 21, 30), datetime(2026, 11, 24, 6, 0)),
        # 05:00 in Riga → the same morning.
        ("Europe/Riga", datetime(2026, 11, 24, 3, 0), datetime(2026, 11, 24, 6, 0)),
        # 12:00 in Riga is daytime.
        ("Europe/Riga", datetime(2026, 11, 24, 10, 0), None),
        # The same instant is daytime in Tehran (01:00 UTC = 04:30 there is night)…
        ("Asia/Tehran", datetime(2026, 11, 24, 1, 0), datetime(2026, 11, 24, 4, 30)),
        # …and 21:30 UTC is evening in New York.
        ("America/New_York", datetime(2026, 11, 23, 21, 30), None),
        # An unknown zone counts as UTC.
        ("Mars/Base", datetime(2026, 11, 23, 22, 0), datetime(2026, 11, 24, 8, 0)),
    ],
)
def test_quiet_hours_are_the_recipients_own(zone, utc, until):
    expected = until.replace(tzinfo=UTC) if until else None
    assert quiet_until(NIGHT, utc.replace(tzinfo=UTC), zone) == expected


def test_a_message_due_at_night_waits_until_morning_and_is_not_dropped(db, world):
    person = make_person(db, world.partner_a, timezone="Europe/Riga")
    message = queue(db, person)
    recorder = Recorder()
    waited = deliver(db, recorder, RIGA_NIGHT)
    assert waited.id == message.id and waited.status == "pending" and recorder.sent == []
    assert waited.next_attempt_at == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    assert waited.note.startswith("quiet hours") and waited.attempts == 0
    assert deliver(db, recorder, RIGA_NIGHT + timedelta(hours=1)) is None
    morning = deliver(db, recorder, datetime(2026, 11, 24, 6, 0, tzinfo=UTC))
    assert morning.id == message.id and morning.status == "sent"


def test_critical_messages_go_at_night_and_e_mail_does_not_wait(db, world):
    person = make_person(db, world.partner_a, timezone="Europe/Riga", email="night@example.com")
    code = queue(db, person, body="123456 is your code", category="critical")
    email = queue(db, person, channel="email")
    recorder = Recorder()
    assert deliver(db, recorder, RIGA_NIGHT).id == code.id
    assert deliver(db, recorder, RIGA_NIGHT).id == email.id
    assert [channel for channel, _ in recorder.sent] == ["sms", "email"]


def test_the_weekly_nudge_cap_defers_nudges_but_not_other_messages(db, world):
    person = make_person(db, world.partner_a, timezone="UTC")
    recorder, monday = Recorder(), datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    for day in range(2):
        queue(db, person, body=f"nudge {day}", category="nudge")
        sent = deliver(db, recorder, monday + timedelta(days=day))
        assert sent.status == "sent"
        sent.sent_at = monday + timedelta(days=day)  # as if sent on that day
    third = queue(db, person, body="nudge 3", category="nudge")
    answer = queue(db, person, body="Your claim was approved")
    wednesday = monday + timedelta(days=2)
    capped = deliver(db, recorder, wednesday)
    assert capped.id == third.id and capped.status == "pending"
    assert (
        capped.next_attempt_at == monday + timedelta(days=7) and "weekly nudge cap" in capped.note
    )
    assert deliver(db, recorder, wednesday).id == answer.id  # not a nudge: not capped
    assert deliver(db, recorder, monday + timedelta(days=7)).id == third.id
    assert [body for _, body in recorder.sent][-1] == "nudge 3"


def test_nothing_goes_to_a_channel_the_person_opted_out_of(db, world):
    person = make_person(db, world.partner_a, email="optout@example.com")
    set_consent(db, person.id, "sms", opted_out=True, source="sms:STOP")
    message = queue(db, person)
    recorder = Recorder()
    refused = deliver(db, recorder, RIGA_NIGHT.replace(hour=12))
    assert refused.id == message.id and refused.status == "failed" and refused.attempts == 0
    assert refused.note == "sms opted out: sent by email instead"
    instead = deliver(db, recorder, RIGA_NIGHT.replace(hour=12))
    assert (instead.channel, instead.recipient, instead.fallback_of_id) == (
        "email",
        "optout@example.com",
        message.id,
    )
    assert recorder.sent == [("email", "Did you know…")]


def test_a_permanent_failure_falls_back_along_the_persons_channels(db, world):
    person = make_person(db, world.partner_a, preferred_channel="whatsapp")
    recorder = Recorder(refuse={"whatsapp": "63024", "sms": "21610"})
    noon = RIGA_NIGHT.replace(hour=10)
    record_inbound(db, person.id, noon - timedelta(hours=1))  # free text, in the window
    queue(db, person, channel="whatsapp")
    chain = [deliver(db, recorder, noon) for _ in range(3)]
    assert [m.channel for m in chain] == ["whatsapp", "sms", "inapp"]  # no e-mail address
    assert [m.status for m in chain] == ["failed", "failed", "sent"]
    assert chain[1].fallback_of_id == chain[0].id and chain[2].fallback_of_id == chain[1].id
    assert chain[2].note == "instead of sms (error 21610)"
    blocks = dict(db.execute(select(ChannelBlock.channel, ChannelBlock.error_code)).all())
    assert blocks == {"whatsapp": "63024", "sms": "21610"}
    # The next message for this person is not tried on the blocked channels blindly.
    later = queue(db, person, channel="whatsapp", body="later")
    assert deliver(db, recorder, noon).note == "whatsapp error 63024: sent by inapp instead"
    assert deliver(db, recorder, noon).fallback_of_id == later.id


def test_when_no_channel_is_left_the_message_says_so(db, world):
    person = make_person(db, world.partner_a, preferred_channel="email", email="x@example.com")
    set_consent(db, person.id, "inapp", opted_out=True, source="admin")
    message = queue(db, person, channel="email")
    refused = deliver(db, Recorder(refuse={"email": "smtp 550"}), RIGA_NIGHT.replace(hour=10))
    assert refused.id == message.id and refused.status == "failed"
    assert refused.note == "email error smtp 550: no other channel left"
    assert (
        db.scalar(select(OutboxMessage).where(OutboxMessage.fallback_of_id == message.id)) is None
    )


def test_in_app_messages_need_no_provider(db, world):
    person = make_person(db, world.partner_a)
    message = queue(db, person, channel="inapp")
    router = ChannelRouter({"sms": DevelopmentTransport(), "inapp": InAppTransport()})
    sent = deliver(db, router, RIGA_NIGHT)  # in-app never waits for the morning
    assert sent.id == message.id and sent.provider_id == f"inapp-{message.id}"


LIFETIME = Policy(time(21), time(8), nudges_per_week=2, nudge_lifetime=timedelta(hours=72))


def test_a_nudge_the_cap_would_hold_past_its_lifetime_is_dropped_not_sent_late(db, world):
    person = make_person(db, world.partner_a, timezone="UTC")
    recorder, monday = Recorder(), datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    for day in range(2):
        queue(db, person, body=f"nudge {day}", category="nudge").created_at = monday
        sent = deliver(db, recorder, monday + timedelta(days=day), LIFETIME)
        sent.sent_at = monday + timedelta(days=day)
    wednesday = monday + timedelta(days=2)
    offer = queue(db, person, body="Offer ends Friday", category="nudge")
    offer.created_at = wednesday
    dropped = deliver(db, recorder, wednesday, LIFETIME)
    assert dropped.id == offer.id and dropped.status == "failed"
    assert dropped.last_error == "expired"
    assert dropped.note == "not sent: the weekly nudge cap would hold it past its 72-hour lifetime"
    assert deliver(db, recorder, monday + timedelta(days=7), LIFETIME) is None
    assert "Offer ends Friday" not in [body for _, body in recorder.sent]


def test_a_nudge_waits_for_the_morning_within_its_lifetime(db, world):
    person = make_person(db, world.partner_a, timezone="Europe/Riga")
    nudge = queue(db, person, category="nudge")
    nudge.created_at = RIGA_NIGHT
    recorder = Recorder()
    assert deliver(db, recorder, RIGA_NIGHT, LIFETIME).status == "pending"
    morning = deliver(db, recorder, datetime(2026, 11, 24, 6, 0, tzinfo=UTC), LIFETIME)
    assert morning.id == nudge.id and morning.status == "sent"


def test_a_nudge_left_unsent_past_its_lifetime_is_dropped_but_answers_never_are(db, world):
    person = make_person(db, world.partner_a, timezone="UTC")
    noon = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    stale = queue(db, person, body="Did you know…", category="nudge")
    answer = queue(db, person, body="Your claim was approved")
    stale.created_at = answer.created_at = noon - timedelta(days=4)  # an outage, say
    recorder = Recorder()
    dropped = deliver(db, recorder, noon, LIFETIME)
    assert dropped.id == stale.id and dropped.status == "failed"
    assert dropped.note == "not sent: still unsent at the end of its 72-hour lifetime"
    assert deliver(db, recorder, noon, LIFETIME).id == answer.id
    assert recorder.sent == [("sms", "Your claim was approved")]


@pytest.mark.parametrize(("hours", "lifetime"), [("72", timedelta(hours=72)), ("0", None)])
def test_the_nudge_lifetime_setting(hours, lifetime):
    assert Policy.from_config({"NUDGE_LIFETIME_HOURS": hours}).nudge_lifetime == lifetime


def test_a_lease_holds_every_message_to_the_same_checks_as_one_by_one(db, world):
    """The worker's lease reads plain rows and leases those that go as they are in one UPDATE;
    the others (a night, a full cap, an opted-out channel) are decided exactly as above."""
    check_a_lease_decides_as_one_by_one(
        db, world.partner_a, timedelta(minutes=2), commit=lambda: None
    )
