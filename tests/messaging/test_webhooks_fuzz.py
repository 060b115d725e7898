"""Hostile requests to Twilio's webhooks: whatever a signed request holds, the answer is TwiML
or a clear 4xx, never a 5xx; a MessageSid is acted on once; an unsigned request writes nothing.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from channel.postings import check_balances
from messaging.commands import COMMON_WORDS, LOCAL_WORDS
from messaging.models import InboundMessage, OutboxMessage
from roles.permissions import Role
from tests.hostile import HOSTILE_TEXT, fuzz, table_counts
from tests.messaging.test_inbound import live_install_program
from tests.messaging.twilio_signing import next_sid, post_signed, signature, twiml_reply

INBOUND = "/messaging/twilio/inbound"
STATUS = "/messaging/twilio/status"

FUZZ = fuzz(40)

WORDS = sorted(
    {w for words in COMMON_WORDS.values() for w in words}
    | {w for language in LOCAL_WORDS.values() for words in language.values() for w in words}
)


@pytest.fixture
def senders(db, world):
    """From addresses: staff who can act, by SMS and WhatsApp, and numbers nobody has."""
    live_install_program(db, world)
    db.commit()
    phones = [world.people[r].phone for r in (Role.TECHNICIAN, Role.SELLER, Role.ADMIN)]
    return phones + [f"whatsapp:{p}" for p in phones]


def bodies():
    command = st.tuples(st.sampled_from(WORDS), st.sampled_from(["", " ", "\t", "\u3000"]))
    return st.one_of(
        HOSTILE_TEXT,
        st.builds(lambda c, arg: f"{c[0]}{c[1]}{arg}", command, HOSTILE_TEXT),
    )


def from_addresses(senders):
    return st.one_of(
        st.sampled_from(senders),
        HOSTILE_TEXT,
        st.sampled_from(["", "whatsapp:", "whatsapp:\x00", "+", "+0", "tel:+371", "WHATSAPP:+1"]),
    )


def _optional(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def inbound_requests(draw, senders):
    params = {
        "MessageSid": draw(_optional(st.one_of(st.builds(next_sid), HOSTILE_TEXT))),
        "From": draw(_optional(from_addresses(senders))),
        "Body": draw(_optional(bodies())),
        "To": draw(_optional(HOSTILE_TEXT)),
        draw(st.sampled_from(["NumMedia", "SmsSid", "AccountSid", "Extra\u202e"])): draw(
            HOSTILE_TEXT
        ),
    }
    return {name: value for name, value in params.items() if value is not None}


def _counts_of_inbound(db):
    return db.scalar(select(func.count()).select_from(InboundMessage))


def test_signed_hostile_messages_are_answered_and_acted_on_once(
    app, client, db, twilio_config, senders
):
    twilio_config["TWILIO_WEBHOOK_RATE_LIMIT"] = "100000 per minute"

    @FUZZ
    @given(params=inbound_requests(senders))
    def send(params):
        db.expire_all()
        sid = params.get("MessageSid") or params.get("SmsSid")
        usable = sid and len(sid) <= 64 and "\x00" not in sid
        known = usable and db.scalar(
            select(InboundMessage).where(InboundMessage.message_sid == sid)
        )
        before = table_counts(db)
        first = post_signed(client, INBOUND, params)
        assert first.status_code in (200, 400), (params, first.status_code)
        db.expire_all()
        assert check_balances(db) == []
        if first.status_code == 400 or known:
            assert table_counts(db) == before
            if known:
                assert twiml_reply(first) == known.reply
            return
        reply = twiml_reply(first)
        assert _counts_of_inbound(db) == before["inbound_messages"] + 1
        # Twilio retries: the same MessageSid is answered alike and changes nothing.
        snapshot = table_counts(db)
        again = post_signed(client, INBOUND, params)
        assert again.status_code == 200 and twiml_reply(again) == reply
        db.expire_all()
        assert table_counts(db) == snapshot

    send()


def test_unsigned_or_badly_signed_hostile_messages_are_refused_and_write_nothing(
    app, client, db, twilio_config, senders
):
    twilio_config["TWILIO_WEBHOOK_RATE_LIMIT"] = "100000 per minute"
    before = table_counts(db)

    @FUZZ
    @given(
        path=st.sampled_from([INBOUND, STATUS]),
        params=inbound_requests(senders),
        signed_as=st.one_of(
            st.none(),
            st.just("another-token"),
            HOSTILE_TEXT.filter(lambda s: s.isascii() and "\n" not in s and "\r" not in s),
        ),
    )
    def send(path, params, signed_as):
        headers = {}
        if signed_as == "another-token":
            headers["X-Twilio-Signature"] = signature(f"http://localhost{path}", params, signed_as)
        elif signed_as is not None:
            headers["X-Twilio-Signature"] = signed_as
        response = client.post(path, data=params, headers=headers)
        assert response.status_code == 403

    send()
    db.expire_all()
    assert table_counts(db) == before


STATUSES = ["queued", "sent", "delivered", "undelivered", "failed", "failed", "read", "received"]


@st.composite
def status_callbacks(draw):
    params = {
        "MessageSid": "fresh" if draw(st.booleans()) else draw(_optional(HOSTILE_TEXT)),
        "MessageStatus": draw(
            st.one_of(st.sampled_from(STATUSES), st.none(), HOSTILE_TEXT, st.just("FAILED "))
        ),
        "ErrorCode": draw(
            _optional(
                st.one_of(
                    st.sampled_from(
                        ["30003", "21610", "30007", "21211", "²", "٣٠٠٠٣", "0" * 40 + "21610"]
                    ),
                    # Digits of every script, superscripts and fractions among them.
                    st.text(st.characters(categories=("Nd", "No")), min_size=1, max_size=40),
                    HOSTILE_TEXT,
                )
            )
        ),
        "SmsStatus": draw(_optional(st.sampled_from(STATUSES))),
    }
    return {name: value for name, value in params.items() if value is not None}


def test_signed_hostile_status_callbacks_never_fail(app, client, db, world, twilio_config):
    twilio_config["TWILIO_WEBHOOK_RATE_LIMIT"] = "100000 per minute"
    person = world.people[Role.TECHNICIAN]

    @FUZZ
    @given(params=status_callbacks())
    def send(params):
        # Each callback is about a message just sent, so that every status moves it on.
        message = OutboxMessage(
            person_id=person.id,
            channel="sms",
            kind="test",
            recipient=person.phone,
            body="Hello",
            status="sent",
            provider_id=next_sid(),
            provider_status="queued",
        )
        db.add(message)
        db.commit()
        if params.get("MessageSid") == "fresh":
            params = {**params, "MessageSid": message.provider_id}
        response = post_signed(client, STATUS, params)
        assert response.status_code in (200, 400), (params, response.status_code)
        if "MessageStatus" not in params and "SmsStatus" not in params:
            assert response.status_code == 400
        db.expire_all()
        assert check_balances(db) == []

    send()
