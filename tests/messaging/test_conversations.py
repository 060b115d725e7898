"""Conversations: free text by SMS or WhatsApp (signed webhooks) and "Ask us" on the phone land
in the person's one conversation; the inbox replies on their channel through the real twilio
client (against the local fake), notes, assigns, marks done; acknowledgements at most once a
day, never at night; partner managers see their own company's people only."""

import random
import re
import threading
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from sqlalchemy import func, select, update

from core.db import get_session, utcnow
from messaging.consent import set_consent
from messaging.conversation_models import Conversation, ConversationEntry
from messaging.conversations import add_note, hear
from messaging.delivery import deliver_next
from messaging.inbound import InboundSettings, receive_once
from messaging.models import ChannelConsent, InboundMessage, OutboxMessage
from messaging.policy import Policy
from roles.auth import code_policy
from roles.permissions import Role
from tests.builders import build_world, login_as, make_person
from tests.messaging.test_inbound import reply_to

OUR_NUMBER = "+37120099999"
NIGHT = Policy(time(21), time(8))
# 23:30 in Riga (UTC+2 in December) is 21:30 UTC.
RIGA_NIGHT = datetime(2026, 12, 3, 21, 30, tzinfo=UTC)
RIGA_MORNING = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)


@pytest.fixture
def technician(world):
    return world.people[Role.TECHNICIAN]


def deliver_all(db, transport, now=None, policy=None):
    """Send every due message; returns those that went."""
    sent = []
    while (
        message := deliver_next(
            db, transport, now=now or datetime.now(UTC), rng=random.Random(1), policy=policy
        )
    ) is not None:
        sent.append(message)
        if message.status == "pending":  # waiting (quiet hours): nothing more is due now
            break
    db.commit()
    return sent


def conversation_of(db, person):
    db.expire_all()
    return db.scalar(select(Conversation).where(Conversation.person_id == person.id))


def entries(db, conversation):
    return db.scalars(
        select(ConversationEntry)
        .where(ConversationEntry.conversation_id == conversation.id)
        .order_by(ConversationEntry.id)
    ).all()


def outbox(db, kind):
    db.expire_all()
    return db.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).all()


# ---------------------------------------------------------------- messages in


def test_free_text_by_sms_opens_a_conversation_acknowledged_through_the_outbox(
    db, client, twilio_config, technician
):
    assert reply_to(client, technician, "Where are my points for the March installs?") == ""
    conversation = conversation_of(db, technician)
    assert (conversation.status, conversation.unread, conversation.last_channel) == (
        "open",
        1,
        "sms",
    )
    said, ack = entries(db, conversation)
    assert (said.kind, said.channel, said.body) == (
        "person",
        "sms",
        "Where are my points for the March installs?",
    )
    assert said.inbound_message_id == db.scalar(select(InboundMessage.id))
    (sent,) = outbox(db, "conversation_ack")
    assert (ack.kind, ack.outbox_message_id) == ("ack", sent.id)
    assert (sent.channel, sent.recipient, sent.category) == (
        "sms",
        technician.phone,
        "transactional",
    )
    first_name = technician.full_name.split()[0]
    assert sent.body == (
        f"Thank you, {first_name}: we have your message, and a person will answer you here soon."
    )


def test_a_blank_message_still_points_to_help(db, client, twilio_config, technician):
    assert reply_to(client, technician, "   ") == (
        "Sorry, that is not a command we know. Text HELP for the list."
    )
    assert conversation_of(db, technician) is None


def test_a_replayed_message_sid_lands_once(db, client, twilio_config, technician):
    for _ in range(2):
        assert reply_to(client, technician, "Is the new pump in stock?", sid="SM" + "7" * 32) == ""
    conversation = conversation_of(db, technician)
    assert [e.kind for e in entries(db, conversation)] == ["person", "ack"]
    assert conversation.unread == 1
    assert len(outbox(db, "conversation_ack")) == 1


def test_commands_still_work_mid_conversation_and_stop_stops(
    db, client, twilio_config, technician, world, fake, transport
):
    reply_to(client, technician, "Can someone call me about the bonus?")
    assert reply_to(client, technician, "BAL").startswith("Points:")
    assert reply_to(client, technician, "STOP").startswith("You will get no more PartnerLift")
    conversation = conversation_of(db, technician)
    assert [e.kind for e in entries(db, conversation)] == ["person", "ack"]
    assert db.scalar(
        select(ChannelConsent.opted_out).where(ChannelConsent.person_id == technician.id)
    )
    deliver_all(db, transport)  # the acknowledgement, written before STOP, goes no more by SMS
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    client.post(f"/conversations/{conversation.id}/reply", data={"reply-text": "We will call."})
    deliver_all(db, transport)
    assert not any(request["To"] == technician.phone for request in fake.received)
    # Not by SMS, which they stopped: in the app instead, where they read the thread anyway.
    by_sms, instead = outbox(db, "conversation_reply")
    assert (by_sms.channel, by_sms.status) == ("sms", "failed")
    assert (instead.channel, instead.fallback_of_id) == ("inapp", by_sms.id)


def test_the_acknowledgement_comes_once_a_day_at_most(db, client, twilio_config, technician, world):
    with time_machine.travel(RIGA_MORNING, tick=False):
        login_as(client, world.people[Role.CHANNEL_MANAGER])
        reply_to(client, technician, "First question")
        reply_to(client, technician, "And a second one")
        conversation = conversation_of(db, technician)
        client.post(f"/conversations/{conversation.id}/status", data={"status": "done"})
        assert conversation_of(db, technician).status == "done"
        reply_to(client, technician, "Sorry, one more")  # opens it again, the same day
    assert conversation_of(db, technician).status == "open"
    assert len(outbox(db, "conversation_ack")) == 1
    client.post(f"/conversations/{conversation.id}/status", data={"status": "done"})
    with time_machine.travel(RIGA_MORNING + timedelta(days=1), tick=False):
        reply_to(client, technician, "Next day, new question")
    assert len(outbox(db, "conversation_ack")) == 2
    assert [e.kind for e in entries(db, conversation)] == [
        "person",
        "ack",
        "person",
        "person",
        "person",
        "ack",
    ]


def test_quiet_hours_defer_the_acknowledgement_until_morning(
    db, client, twilio_config, technician, fake, transport
):
    with time_machine.travel(RIGA_NIGHT, tick=False):
        reply_to(client, technician, "Late question about a boiler")
    deliver_all(db, transport, now=RIGA_NIGHT, policy=NIGHT)
    (ack,) = outbox(db, "conversation_ack")
    assert ack.status == "pending" and fake.received == []
    assert ack.next_attempt_at == datetime(2026, 12, 4, 6, 0, tzinfo=UTC)  # 08:00 in Riga
    deliver_all(db, transport, now=RIGA_MORNING, policy=NIGHT)
    db.expire_all()
    assert ack.status == "sent"
    assert fake.received[0]["To"] == technician.phone


def test_a_message_from_an_unknown_number_is_shown_to_the_manufacturer_only(
    db, client, twilio_config, world
):
    assert reply_to(client, "+37129999990", "Hello, I want to join").startswith(
        "This number is not registered"
    )
    assert db.scalar(select(func.count()).select_from(Conversation)) == 0
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get("/conversations/").get_data(as_text=True)
    assert "Hello, I want to join" in page and "+37129999990" in page
    login_as(client, world.people[Role.PARTNER_MANAGER])
    page = client.get("/conversations/").get_data(as_text=True)
    assert "Hello, I want to join" not in page and "+37129999990" not in page


# ---------------------------------------------------------------- replies out


def test_a_channel_managers_reply_goes_back_by_sms_through_twilio(
    db, client, twilio_config, technician, world, fake, transport
):
    reply_to(client, technician, "Does the bonus count for the X200?")
    conversation = conversation_of(db, technician)
    cm = world.people[Role.CHANNEL_MANAGER]
    login_as(client, cm)
    page = client.get(f"/conversations/{conversation.id}").get_data(as_text=True)
    assert "Does the bonus count for the X200?" in page
    assert conversation_of(db, technician).unread == 0
    response = client.post(
        f"/conversations/{conversation.id}/reply", data={"reply-text": "Yes, from 1 March."}
    )
    assert response.status_code == 302
    deliver_all(db, transport)
    to_them = [(r["To"], r["Body"]) for r in fake.received]
    assert (technician.phone, "Yes, from 1 March.") in to_them
    assert [r["From"] for r in fake.received] == [OUR_NUMBER] * len(fake.received)
    reply = entries(db, conversation)[-1]
    assert (reply.kind, reply.channel, reply.author_id, reply.body) == (
        "reply",
        "sms",
        cm.id,
        "Yes, from 1 March.",
    )


def test_a_whatsapp_message_is_answered_by_whatsapp(
    db, client, twilio_config, technician, world, fake, transport
):
    reply_to(client, technician, "Photo of the plate is blurry, what now?", channel="whatsapp")
    conversation = conversation_of(db, technician)
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    client.post(f"/conversations/{conversation.id}/reply", data={"reply-text": "Type the serial."})
    deliver_all(db, transport)
    assert (f"whatsapp:{technician.phone}", "Type the serial.") in [
        (r["To"], r["Body"]) for r in fake.received
    ]
    assert {r["From"] for r in fake.received} == {f"whatsapp:{OUR_NUMBER}"}


def test_an_empty_or_too_long_reply_is_refused_and_sends_nothing(
    db, client, twilio_config, technician, world
):
    reply_to(client, technician, "Question")
    conversation = conversation_of(db, technician)
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    for body in ("   ", "x" * 1001):
        response = client.post(
            f"/conversations/{conversation.id}/reply",
            data={"reply-text": body},
            follow_redirects=True,
        )
        assert response.status_code == 200
    assert outbox(db, "conversation_reply") == []
    assert [e.kind for e in entries(db, conversation)] == ["person", "ack"]


# ---------------------------------------------------------------- on the phone


def test_ask_us_on_the_phone_is_answered_in_app_and_on_the_persons_channel(
    db, client, technician, world
):
    login_as(client, technician)
    home = client.get("/me").get_data(as_text=True)
    assert 'action="/me/conversation"' in home
    response = client.post("/me/conversation", data={"text": "How do I claim a repair?"})
    assert response.status_code == 302
    conversation = conversation_of(db, technician)
    said, ack = entries(db, conversation)
    assert (said.channel, ack.kind, ack.channel, ack.outbox_message_id) == (
        "inapp",
        "ack",
        "inapp",
        None,
    )
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    client.post(f"/conversations/{conversation.id}/note", data={"note-text": "Check with QA"})
    client.post(
        f"/conversations/{conversation.id}/reply", data={"reply-text": "Claim it as an install."}
    )
    (reply,) = outbox(db, "conversation_reply")
    assert reply.channel == "sms" and reply.recipient == technician.phone
    assert reply.body.startswith(
        "Claim it as an install.\nThe whole conversation: http://localhost/me/conversation"
    )
    login_as(client, technician)
    thread = client.get("/me/conversation").get_data(as_text=True)
    assert "How do I claim a repair?" in thread and "Claim it as an install." in thread
    assert "Check with QA" not in thread


def test_an_empty_question_is_refused(db, client, technician):
    login_as(client, technician)
    response = client.post("/me/conversation", data={"text": "  "})
    assert response.status_code == 400
    assert "Write something first." in response.get_data(as_text=True)
    assert conversation_of(db, technician) is None


# ---------------------------------------------------------------- working the inbox


def test_notes_assignment_done_and_reopen(db, client, twilio_config, technician, world):
    reply_to(client, technician, "Where is my voucher?")
    conversation = conversation_of(db, technician)
    cm, pm = world.people[Role.CHANNEL_MANAGER], world.people[Role.PARTNER_MANAGER]
    login_as(client, cm)
    url = f"/conversations/{conversation.id}"
    client.post(f"{url}/note", data={"note-text": "Voucher batch was late"})
    client.post(f"{url}/assign", data={"assignee": str(pm.id)})
    assert conversation_of(db, technician).assignee_id == pm.id
    # Another partner's manager is no colleague on this conversation: refused, unchanged.
    response = client.post(
        f"{url}/assign",
        data={"assignee": str(world.others[Role.PARTNER_MANAGER].id)},
        follow_redirects=True,
    )
    assert "Choose a colleague who may answer it." in response.get_data(as_text=True)
    assert conversation_of(db, technician).assignee_id == pm.id
    client.post(f"{url}/status", data={"status": "done"})
    assert conversation_of(db, technician).status == "done"
    listed = client.get("/conversations/").get_data(as_text=True)
    assert "Where is my voucher?" not in listed  # open ones by default
    assert "Where is my voucher?" in client.get("/conversations/?status=done").get_data(
        as_text=True
    )
    client.post(f"{url}/status", data={"status": "open"})
    assert conversation_of(db, technician).status == "open"
    login_as(client, pm)
    mine = client.get("/conversations/?assigned=me").get_data(as_text=True)
    assert "Where is my voucher?" in mine
    page = client.get(url).get_data(as_text=True)
    assert "Voucher batch was late" in page
    assert not outbox(db, "conversation_reply")  # a note is never sent


def test_the_menu_counts_unread_conversations_in_the_readers_scope(
    db, client, twilio_config, world
):
    reply_to(client, world.people[Role.TECHNICIAN], "A question from Alpha")
    reply_to(client, world.others[Role.TECHNICIAN], "A question from Bravo")
    badge = re.compile(r"Conversations <span class=\"badge\" aria-label=\"(\d+) unread\"")
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    assert badge.search(client.get("/conversations/").get_data(as_text=True)).group(1) == "2"
    login_as(client, world.people[Role.PARTNER_MANAGER])
    page = client.get("/conversations/").get_data(as_text=True)
    assert badge.search(page).group(1) == "1"
    assert "A question from Alpha" in page and "A question from Bravo" not in page


def test_a_partner_manager_cannot_open_or_answer_another_partners_conversation(
    db, client, twilio_config, world
):
    reply_to(client, world.others[Role.TECHNICIAN], "Bravo's private question")
    theirs = conversation_of(db, world.others[Role.TECHNICIAN])
    login_as(client, world.people[Role.PARTNER_MANAGER])
    assert client.get(f"/conversations/{theirs.id}").status_code == 404
    for action, field in (("reply", "reply-text"), ("note", "note-text")):
        response = client.post(f"/conversations/{theirs.id}/{action}", data={field: "hijack"})
        assert response.status_code == 404
    assert [e.kind for e in entries(db, theirs)] == ["person", "ack"]
    listed = client.get(f"/conversations/?partner={world.partner_b.id}").get_data(as_text=True)
    assert "Bravo" not in listed


def test_filters_narrow_the_inbox(db, client, twilio_config, world):
    seller = make_person(db, world.partner_a, ["seller"], language="lv")
    db.commit()
    reply_to(client, seller, "Seller question")
    reply_to(client, world.people[Role.TECHNICIAN], "Technician question")
    reply_to(client, world.others[Role.TECHNICIAN], "Polish partner question")
    login_as(client, world.people[Role.CHANNEL_MANAGER])

    def shown(query):
        page = client.get(f"/conversations/?{query}").get_data(as_text=True)
        return {q for q in ("Seller", "Technician", "Polish partner") if f"{q} question" in page}

    assert shown("") == {"Seller", "Technician", "Polish partner"}
    assert shown("role=seller") == {"Seller"}
    assert shown("language=lv") == {"Seller"}
    assert shown("country=PL") == {"Polish partner"}
    assert shown(f"partner={world.partner_a.id}") == {"Seller", "Technician"}
    assert shown("assigned=nobody") == {"Seller", "Technician", "Polish partner"}
    assert shown("assigned=me") == set()


def test_technicians_never_see_the_inbox(db, client, twilio_config, world):
    reply_to(client, world.people[Role.SELLER], "A seller's question")
    conversation = conversation_of(db, world.people[Role.SELLER])
    login_as(client, world.people[Role.TECHNICIAN])
    assert client.get("/conversations/").status_code == 403
    assert client.get(f"/conversations/{conversation.id}").status_code == 403
    assert 'href="/conversations/"' not in client.get("/me").get_data(as_text=True)


# ---------------------------------------------------------------- races (PostgreSQL)


def test_messages_at_once_make_one_conversation_and_one_acknowledgement_a_day(
    committed_postgres_app,
):
    app = committed_postgres_app
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        person_id, phone = world.people[Role.TECHNICIAN].id, world.people[Role.TECHNICIAN].phone
        db.commit()
    settings = InboundSettings(
        languages=("en",),
        default_language="en",
        code_policy=code_policy(app.config),
        points_lifetime=timedelta(days=365),
        return_window=timedelta(days=30),
    )
    rounds, start, errors = 5, threading.Barrier(2), []
    now = datetime.now(UTC)

    def deliver(n, i):
        try:
            with app.test_request_context():
                session = get_session()
                start.wait(timeout=10)
                receive_once(
                    session,
                    message_sid=f"SM{n:016d}{i:016d}",
                    from_address=phone,
                    body=f"Question {n}.{i}",
                    now=now,
                    settings=settings,
                )
                session.commit()
        except Exception as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    for n in range(rounds):
        threads = [threading.Thread(target=deliver, args=(n, i)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        with app.app_context():  # done: the next two messages both try to open it again
            db = get_session()
            db.execute(update(Conversation).values(status="done"))
            db.commit()
    assert errors == []
    with app.app_context():
        db = get_session()
        conversations = db.scalars(
            select(Conversation).where(Conversation.person_id == person_id)
        ).all()
        assert len(conversations) == 1
        kinds = db.scalars(
            select(ConversationEntry.kind).where(
                ConversationEntry.conversation_id == conversations[0].id
            )
        ).all()
        assert sorted(kinds).count("person") == 2 * rounds
        assert kinds.count("ack") == 1
        assert conversations[0].unread == 2 * rounds
        acks = db.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "conversation_ack")
        )
        assert acks == 1


def test_consent_given_back_by_start_lets_replies_through(db, client, twilio_config, technician):
    set_consent(db, technician.id, "sms", opted_out=True, source="test")
    db.commit()
    reply_to(client, technician, "START")
    reply_to(client, technician, "Back again, a question")
    assert [e.kind for e in entries(db, conversation_of(db, technician))] == ["person", "ack"]


# ---------------------------------------------------------------- campaigns


def test_a_reply_to_a_campaign_counts_for_it_and_is_read_on_its_results(
    db, client, twilio_config, world, technician
):
    from messaging.campaigns.operations import send_campaign
    from messaging.campaigns.results import engagement
    from tests.messaging.campaigns.helpers import BASE, make_campaign

    campaign = make_campaign(db, roles=("technician",))
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    send_campaign(db, campaign, hour_ago, base_url=BASE)
    for message in db.scalars(select(OutboxMessage).where(OutboxMessage.source == campaign.source)):
        message.status, message.sent_at = "sent", hour_ago
    db.commit()
    reply_to(client, technician, "Does this offer include the X200?")
    reply_to(client, technician, "BAL")
    assert engagement(db, campaign.source, 7).replied == 1  # people, as before
    conversation = conversation_of(db, technician)
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get(f"/campaigns/{campaign.id}/results").get_data(as_text=True)
    assert "Does this offer include the X200?" in page and "<code>BAL</code>" in page
    assert f'href="/conversations/{conversation.id}"' in page


# ---------------------------------------------------------------- the demo


def test_the_demo_holds_an_open_hebrew_conversation_with_one_unread_message(app, db, client):
    for _ in range(2):
        result = app.test_cli_runner().invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
    assert "0 new conversations" in result.output  # the second run adds none
    db.expire_all()
    (conversation,) = db.scalars(select(Conversation)).all()
    assert (conversation.status, conversation.unread) == ("open", 1)
    assert conversation.person.language == "he"
    kinds = [e.kind for e in entries(db, conversation)]
    assert kinds == ["person", "ack", "reply", "note", "person"]
    manager = conversation.assignee
    assert "channel_manager" in manager.roles
    login_as(client, manager)
    page = client.get(f"/conversations/{conversation.id}").get_data(as_text=True)
    assert "משאבת החום" in page
    login_as(client, conversation.person)
    thread = client.get("/me/conversation").get_data(as_text=True)
    assert "הנקודות נרשמות" in thread and "Checked both serials" not in thread


# ---------------------------------------------------------------- privacy


def test_export_holds_the_thread_and_erasure_blanks_it_notes_too(app, db, world, tmp_path):
    import json

    from roles.privacy import erase_person, export_person

    person, cm = world.people[Role.TECHNICIAN], world.people[Role.CHANNEL_MANAGER]
    with app.test_request_context():
        conversation = hear(db, person, channel="sms", body="My secret question", now=utcnow())
        add_note(db, conversation.conversation, cm, "Internal: VIP", now=utcnow())
        exported = json.dumps(export_person(db, person), default=str)
        assert "My secret question" in exported and "Internal: VIP" not in exported
        erase_person(db, person, upload_folder=str(tmp_path))
    db.expire_all()
    assert {e.body for e in entries(db, conversation.conversation)} == {""}


def test_retention_blanks_old_conversation_texts(app, db, world):
    person = world.people[Role.TECHNICIAN]
    with app.test_request_context():
        old = hear(
            db, person, channel="sms", body="Old question", now=utcnow() - timedelta(days=400)
        )
        new = hear(db, person, channel="sms", body="New question", now=utcnow())
    db.commit()
    result = app.test_cli_runner().invoke(args=["messaging", "purge", "--days", "180"])
    assert result.exit_code == 0, result.output
    assert "2 conversation entries" in result.output  # the old question and its acknowledgement
    db.expire_all()
    assert (old.entry.body, new.entry.body) == ("", "New question")


def test_a_long_thread_pages_stay_under_60_kb(app, db, client, world):
    from tests.conftest import ROOT

    person, cm = world.people[Role.TECHNICIAN], world.people[Role.CHANNEL_MANAGER]
    longest = "שאלה ארוכה מאוד " * 62  # 992 characters, two bytes each
    with app.test_request_context():
        for n in range(60):
            heard = hear(db, person, channel="sms", body=f"{n} {longest}", now=utcnow())
            add_note(db, heard.conversation, cm, longest, now=utcnow())
    db.commit()
    static = sum(len((ROOT / "static" / name).read_bytes()) for name in ("app.css", "app.js"))
    login_as(client, cm)
    url = f"/conversations/{heard.conversation.id}"
    staff = client.get(url).get_data()
    login_as(client, person)
    mine = client.get("/me/conversation").get_data()
    for page in (staff, mine):
        assert len(page) + static < 60 * 1024
        assert b"59 " + longest.encode()[:20] in page  # the latest is always shown
        assert b"Earlier messages" in page
    earlier = re.search(rb'href="(/me/conversation\?before=\d+)"', mine).group(1).decode()
    assert client.get(earlier).status_code == 200


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("he", "תודה, נועה: קיבלנו את הודעתכם, ואדם יענה לכם כאן בקרוב."),
        ("lv", "Paldies, Noa: jūsu ziņa ir saņemta, un drīz šeit jums atbildēs cilvēks."),
    ],
)
def test_the_acknowledgement_is_in_the_persons_language(
    db, client, twilio_config, world, language, expected
):
    name = "נועה לוי" if language == "he" else "Noa Levi"
    person = make_person(db, world.partner_a, ["seller"], language=language, full_name=name)
    db.commit()
    assert reply_to(client, person, "שלום, שאלה על התוכנית" if language == "he" else "Sveiki") == ""
    (ack,) = outbox(db, "conversation_ack")
    assert ack.body == expected
