"""WhatsApp's 24-hour window, through the real twilio client against the local fake: free
text inside it, an approved Content template outside it, the next channel with neither, and
WhatsApp's "window closed" (63016) never blocking the channel."""

import json
import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from core.db import get_session, utcnow
from messaging.compose import notify
from messaging.delivery import deliver_next
from messaging.delivery_status import record_delivery_status
from messaging.models import ChannelBlock, ContentTemplate, WhatsAppWindow
from messaging.whatsapp import QUICK_REPLY, WINDOW, record_inbound, window_closes_at
from roles.permissions import Role
from tests.builders import build_world, make_person
from tests.messaging.fake_twilio import ACCOUNT_SID
from tests.messaging.twilio_signing import next_sid, post_signed, twiml_reply

NOON = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # noon in Riga: no quiet hours


@pytest.fixture
def person(db, world):
    return make_person(
        db,
        world.partner_a,
        full_name="Jānis Bērziņš",
        language="lv",
        preferred_channel="whatsapp",
        phone="+37126005555",
    )


def template(db, sid, kind, language, variables, approval="approved", content_type=None):
    row = ContentTemplate(
        content_type=content_type or "twilio/text",
        content_sid=sid,
        friendly_name=f"{kind}_{language}",
        kind=kind,
        language=language,
        variables=variables,
        approval=approval,
        category="utility",
        synced_at=utcnow(),
    )
    db.add(row)
    db.flush()
    return row


def points_message(app, db, person, points=1200):
    with app.app_context():
        return notify(db, person, "points_earned", points=points, available=3400, pending=0)


def deliver(db, transport, now=NOON):
    return deliver_next(db, transport, now=now, max_attempts=3, rng=random.Random(7))


def test_inside_the_window_a_message_goes_as_free_text(app, db, person, fake, transport):
    template(db, "HXlv", "points_earned", "lv", ["first_name", "points"])
    record_inbound(db, person.id, NOON - timedelta(hours=23))
    queued = points_message(app, db, person)
    sent = deliver(db, transport)
    assert (sent.id, sent.status, sent.content_sid) == (queued.id, "sent", None)
    (request,) = fake.received
    assert request["To"] == "whatsapp:+37126005555" and request["Body"] == queued.body
    assert "ContentSid" not in request
    assert sent.note == "window open until 2026-11-24 11:00 UTC: free text"


def test_outside_the_window_a_template_in_the_persons_language(app, db, person, fake, transport):
    template(db, "HXen", "points_earned", "en", ["first_name", "points"])
    template(db, "HXlv", "points_earned", "lv", ["first_name", "points"])
    template(db, "HXlv2", "points_earned", "lv", ["points"], approval="rejected")
    record_inbound(db, person.id, NOON - timedelta(hours=25))
    points_message(app, db, person)
    sent = deliver(db, transport)
    assert (sent.status, sent.channel, sent.content_sid) == ("sent", "whatsapp", "HXlv")
    (request,) = fake.received
    assert request["ContentSid"] == "HXlv" and "Body" not in request
    # Latvian groups the digits with a no-break space.
    assert json.loads(request["ContentVariables"]) == {"1": "Jānis", "2": "1\u00a0200"}
    assert sent.note == "window closed since 2026-11-24 09:00 UTC: template HXlv"


def test_without_an_approved_template_the_message_goes_by_sms_with_the_reason(
    app, db, person, fake, transport
):
    template(db, "HXen", "points_earned", "en", ["first_name", "points"])
    template(db, "HXlv", "points_earned", "lv", ["points"], approval="pending")
    queued = points_message(app, db, person)
    refused = deliver(db, transport)
    assert (refused.id, refused.status, refused.attempts) == (queued.id, "failed", 0)
    assert refused.note == (
        "whatsapp window never opened, no approved template for points_earned in lv: "
        "sent by sms instead"
    )
    instead = deliver(db, transport)
    assert (instead.channel, instead.status, instead.fallback_of_id) == ("sms", "sent", queued.id)
    assert [r["To"] for r in fake.received] == ["+37126005555"]
    assert db.scalar(select(func.count(ChannelBlock.id))) == 0
    # Only that message: the next one goes by WhatsApp again once the window is open.
    record_inbound(db, person.id, NOON)
    points_message(app, db, person, points=5)
    assert deliver(db, transport).channel == "whatsapp"


def test_a_template_missing_a_value_is_not_sent(app, db, person, fake, transport):
    template(db, "HXlv", "points_earned", "lv", ["first_name", "claim.serial"])
    points_message(app, db, person)
    refused = deliver(db, transport)
    assert refused.status == "failed" and "template HXlv lacks claim.serial" in refused.note
    assert deliver(db, transport).channel == "sms"


def test_window_closed_from_twilio_does_not_block_and_goes_again_by_template(
    app, db, person, fake, transport
):
    template(db, "HXlv", "points_earned", "lv", ["first_name", "points"])
    # We believe the window open; WhatsApp knows better and answers 63016.
    record_inbound(db, person.id, NOON - timedelta(hours=1))
    fake.script["whatsapp:+37126005555"].append((400, 63016))
    first = points_message(app, db, person)
    refused = deliver(db, transport)
    assert (refused.id, refused.status, refused.last_error) == (first.id, "failed", "63016")
    assert refused.note == "error 63016: sent again by template HXlv"
    assert db.scalar(select(func.count(ChannelBlock.id))) == 0
    assert window_closes_at(db, person.id) is None
    again = deliver(db, transport)
    assert (again.fallback_of_id, again.channel, again.status) == (first.id, "whatsapp", "sent")
    assert fake.accepted[-1]["ContentSid"] == "HXlv"
    # The person's next message still goes by WhatsApp, by template: nothing was blocked.
    points_message(app, db, person, points=5)
    following = deliver(db, transport)
    assert (following.channel, following.status, following.content_sid) == (
        "whatsapp",
        "sent",
        "HXlv",
    )
    assert [r.get("ContentSid") for r in fake.accepted] == ["HXlv", "HXlv"]


def test_window_closed_in_a_status_callback_goes_again_by_template(
    app, db, person, fake, transport
):
    template(db, "HXlv", "points_earned", "lv", ["first_name", "points"])
    record_inbound(db, person.id, NOON - timedelta(hours=2))
    sent = points_message(app, db, person)
    deliver(db, transport)
    record_delivery_status(db, sent.provider_id, "failed", "63016", now=NOON)
    assert (sent.status, sent.last_error) == ("failed", "63016")
    assert db.scalar(select(func.count(ChannelBlock.id))) == 0
    again = deliver(db, transport)
    assert (again.fallback_of_id, again.content_sid, again.status) == (sent.id, "HXlv", "sent")


def test_without_a_template_a_closed_window_falls_back_without_a_block(
    app, db, person, fake, transport
):
    record_inbound(db, person.id, NOON - timedelta(hours=1))
    fake.script["whatsapp:+37126005555"].append((400, 63016))
    points_message(app, db, person)
    refused = deliver(db, transport)
    assert refused.note.startswith("whatsapp error 63016, window closed (WhatsApp said so)")
    assert refused.note.endswith(": sent by sms instead")
    assert deliver(db, transport).channel == "sms"
    assert db.scalar(select(func.count(ChannelBlock.id))) == 0


def test_63024_still_blocks_whatsapp(app, db, person, fake, transport):
    record_inbound(db, person.id, NOON - timedelta(hours=1))
    fake.script["whatsapp:+37126005555"].append((400, 63024))
    points_message(app, db, person)
    deliver(db, transport)
    block = db.scalar(select(ChannelBlock))
    assert (block.channel, block.error_code) == ("whatsapp", "63024")


def welcome(app, db, person):
    with app.app_context():
        return notify(db, person, "welcome")


def test_inside_the_window_a_question_goes_with_buttons_approved_or_not(
    app, db, person, fake, transport
):
    template(db, "HXbuttons", "welcome", "lv", ["first_name"], "pending", QUICK_REPLY)
    template(db, "HXtext", "welcome", "lv", ["first_name"])  # text: not needed inside
    record_inbound(db, person.id, NOON - timedelta(hours=1))
    welcome(app, db, person)
    sent = deliver(db, transport)
    assert (sent.status, sent.content_sid) == ("sent", "HXbuttons")
    assert sent.note == "window open until 2026-11-25 09:00 UTC: buttons HXbuttons"
    assert json.loads(fake.accepted[-1]["ContentVariables"]) == {"1": "Jānis"}
    # Outside the window only an approved template goes: here the text one.
    later = welcome(app, db, person)
    sent = deliver(db, transport, NOON + timedelta(days=2))
    assert (sent.id, sent.status, sent.content_sid) == (later.id, "sent", "HXtext")


def test_rejected_buttons_or_missing_values_leave_free_text_inside_the_window(
    app, db, person, fake, transport
):
    template(db, "HXno", "welcome", "lv", ["first_name"], "rejected", QUICK_REPLY)
    template(db, "HXlacks", "points_earned", "lv", ["claim.serial"], "approved", QUICK_REPLY)
    record_inbound(db, person.id, NOON - timedelta(hours=1))
    welcome(app, db, person)
    assert deliver(db, transport).note == "window open until 2026-11-25 09:00 UTC: free text"
    points_message(app, db, person)
    sent = deliver(db, transport)
    assert (sent.status, sent.content_sid) == ("sent", None)
    assert sent.note.endswith("free text (template HXlacks lacks claim.serial)")
    assert all("ContentSid" not in request for request in fake.accepted)


def test_a_tapped_button_is_answered_like_the_typed_word(client, db, person, twilio_config):
    params = {
        "MessageSid": next_sid(),
        "AccountSid": ACCOUNT_SID,
        "From": "whatsapp:+37126005555",
        "To": "whatsapp:+37120099999",
        "Body": "BILANCE",
        "ButtonText": "BILANCE",
        "ButtonPayload": "BILANCE",
        "NumMedia": "0",
    }
    tapped = post_signed(client, "/messaging/twilio/inbound", params)
    params = {**params, "MessageSid": next_sid()}
    del params["ButtonText"], params["ButtonPayload"]
    typed = post_signed(client, "/messaging/twilio/inbound", params)
    assert tapped.status_code == typed.status_code == 200
    assert "Punkti" in twiml_reply(tapped) and twiml_reply(tapped) == twiml_reply(typed)


def test_an_inbound_whatsapp_message_opens_the_window(client, db, person, twilio_config):
    moment = utcnow()
    params = {
        "MessageSid": next_sid(),
        "AccountSid": ACCOUNT_SID,
        "From": "whatsapp:+37126005555",
        "To": "whatsapp:+37120099999",
        "Body": "BAL",
        "NumMedia": "0",
    }
    assert post_signed(client, "/messaging/twilio/inbound", params).status_code == 200
    closes = window_closes_at(db, person.id)
    assert closes is not None and moment + WINDOW <= closes <= utcnow() + WINDOW
    # An SMS opens no WhatsApp window; an older moment never moves it back.
    record_inbound(db, person.id, moment - timedelta(days=2))
    assert window_closes_at(db, person.id) == closes


def test_concurrent_inbound_messages_leave_the_latest_moment(committed_app):
    app = committed_app
    with app.test_request_context():
        db = get_session()
        someone = make_person(db, build_world(db).partner_a)
        db.commit()
        person_id = someone.id
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"])
    moments = [NOON + timedelta(minutes=n) for n in range(6)]
    start, failures = threading.Barrier(len(moments)), []

    def receive(moment):
        with factory() as session:
            start.wait()
            try:
                record_inbound(session, person_id, moment)
                session.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                failures.append(repr(error))

    threads = [threading.Thread(target=receive, args=(m,)) for m in reversed(moments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with factory() as session:
        rows = session.scalars(
            select(WhatsAppWindow.last_inbound_at).where(WhatsAppWindow.person_id == person_id)
        ).all()
    assert rows == [moments[-1]]


def test_outside_the_window_a_survey_question_goes_by_the_survey_template(
    app, db, world, person, fake, transport
):
    """Surveys are a message kind of the registry: an approved `survey` template in the
    person's language carries the question as its `text`."""
    from pathlib import Path

    import time_machine

    from messaging.content_templates import message_kinds
    from messaging.surveys.sending import invite
    from tests.messaging.surveys.helpers import LINKS, open_now, three_question_survey

    assert "survey" in message_kinds(Path(app.root_path) / app.template_folder)
    template(db, "HXsurvey", "survey", "lv", ["first_name", "text"])
    with time_machine.travel(NOON, tick=False):
        record_inbound(db, person.id, NOON - timedelta(hours=30))
        survey = open_now(db, three_question_survey(db, world.people[Role.CHANNEL_MANAGER]))
        invite(db, survey, person, NOON, links=LINKS)
        sent = deliver(db, transport)
    assert (sent.status, sent.channel, sent.content_sid) == ("sent", "whatsapp", "HXsurvey")
    (request,) = fake.received
    variables = json.loads(request["ContentVariables"])
    assert variables["1"] == "Jānis"
    assert "Cik ticami jūs ieteiktu mūsu programmu kolēģim?" in variables["2"]
