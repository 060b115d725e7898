"""Inbound SMS and WhatsApp through Twilio's webhook: signed, acted on once, answered in the
sender's language, with every command in English, Latvian and Russian (and more)."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from channel.claim_models import Claim
from channel.postings import Line, person_account, post
from channel.programs import launch_program
from core.db import get_session, utcnow
from core.i18n import format_date
from messaging.models import ChannelBlock, ChannelConsent, InboundMessage, OutboxMessage
from roles.models import SignInCode
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    build_world,
    make_person,
    make_program,
    offer,
)
from tests.messaging.twilio_signing import (
    AUTH_TOKEN,
    LOCAL_BASE,
    next_sid,
    post_signed,
    post_signed_at_once,
    signature,
    twiml_reply,
)

INBOUND = "/messaging/twilio/inbound"
OUR_NUMBER = "+37120099999"
WORKERS = 6


def inbound_params(sender, body, sid=None, channel="sms"):
    number = sender if isinstance(sender, str) else sender.phone
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    return {
        "MessageSid": sid or next_sid(),
        "AccountSid": "AC" + "0" * 32,
        "From": prefix + number,
        "To": prefix + OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


def text(client, sender, body, sid=None, channel="sms"):
    """`sender` texts `body` to us; returns the response."""
    return post_signed(client, INBOUND, inbound_params(sender, body, sid, channel))


def reply_to(client, sender, body, **options) -> str:
    response = text(client, sender, body, **options)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/xml"
    return twiml_reply(response)


@pytest.fixture
def technician(db, world):
    return world.people[Role.TECHNICIAN]


def live_install_program(db, world):
    """A live program paying 50 points an install to partner A's technicians."""
    program = make_program(db, partners=[world.partner_a])
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    return program


@pytest.fixture
def install_program(db, world):
    program = live_install_program(db, world)
    db.commit()
    return program


def count(db, model, *where):
    return db.scalar(select(func.count()).select_from(model).where(*where))


# ---------------------------------------------------------------- signatures


def test_a_correctly_signed_message_is_processed(db, client, twilio_config, technician):
    response = text(client, technician, "HELP")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert twiml_reply(response).startswith("PartnerLift: BAL points")
    (stored,) = db.scalars(select(InboundMessage)).all()
    assert (stored.person_id, stored.command, stored.channel) == (technician.id, "HELP", "sms")


def test_the_longest_sms_twilio_sends_is_processed(db, client, twilio_config, technician):
    response = text(client, technician, "HELP " + "x" * 1595)
    assert response.status_code == 200
    assert count(db, InboundMessage) == 1


@pytest.mark.parametrize("path", [INBOUND, "/messaging/twilio/status"])
def test_a_body_larger_than_twilio_sends_is_refused_unread(
    db, client, twilio_config, technician, path
):
    params = inbound_params(technician, "HELP " + "x" * 70_000)
    response = post_signed(client, path, params)
    assert response.status_code == 413
    assert count(db, InboundMessage) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Twilio-Signature": ""},
        {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    ],
    ids=["missing", "empty", "wrong"],
)
def test_an_unsigned_or_badly_signed_message_is_refused(db, client, twilio_config, world, headers):
    params = inbound_params(world.people[Role.TECHNICIAN], "STOP")
    response = client.post(INBOUND, data=params, headers=headers)
    assert response.status_code == 403
    assert count(db, InboundMessage) == 0
    assert count(db, ChannelConsent) == 0


def test_a_signature_over_other_fields_or_another_token_is_refused(
    db, client, twilio_config, world
):
    params = inbound_params(world.people[Role.TECHNICIAN], "BAL")
    signed = signature(LOCAL_BASE + INBOUND, params)
    tampered = {**params, "Body": "STOP"}
    assert (
        client.post(INBOUND, data=tampered, headers={"X-Twilio-Signature": signed}).status_code
        == 403
    )
    other = post_signed(client, INBOUND, params, token="someone-elses-token")
    assert other.status_code == 403
    assert count(db, InboundMessage) == 0


def test_without_an_auth_token_every_request_is_refused(db, client, twilio_config, world):
    twilio_config["TWILIO_AUTH_TOKEN"] = None
    params = inbound_params(world.people[Role.TECHNICIAN], "HELP")
    assert post_signed(client, INBOUND, params).status_code == 403
    assert post_signed(client, INBOUND, params, token="").status_code == 403
    assert client.post(INBOUND, data=params).status_code == 403


def test_behind_a_proxy_the_public_url_is_what_twilio_signed(db, client, twilio_config, world):
    twilio_config["PUBLIC_URL"] = "https://partnerlift.example.com/"
    technician = world.people[Role.TECHNICIAN]
    public = post_signed(
        client, INBOUND, inbound_params(technician, "HELP"), base="https://partnerlift.example.com"
    )
    assert public.status_code == 200
    assert post_signed(client, INBOUND, inbound_params(technician, "HELP")).status_code == 403


def test_webhooks_need_no_csrf_token(db, client, twilio_config, technician):
    twilio_config["WTF_CSRF_ENABLED"] = True
    assert text(client, technician, "HELP").status_code == 200


def test_a_message_without_a_usable_sid_is_a_bad_request(db, client, twilio_config, technician):
    for sid in ("", "SM" + "9" * 70, "SM\x00"):
        params = inbound_params(technician, "HELP", sid=sid)
        params["MessageSid"] = sid
        assert post_signed(client, INBOUND, params).status_code == 400
    assert count(db, InboundMessage) == 0


def test_a_nul_character_in_a_message_is_dropped_and_the_message_answered(
    db, client, twilio_config, technician
):
    assert reply_to(client, technician, "HE\x00LP").startswith("PartnerLift: BAL points")
    assert db.scalar(select(InboundMessage.body)) == "HELP"


def test_webhooks_are_rate_limited(db, client, twilio_config, technician):
    twilio_config["TWILIO_WEBHOOK_RATE_LIMIT"] = "2 per minute"
    assert [text(client, technician, "HELP").status_code for _ in range(3)] == [200, 200, 429]
    assert count(db, InboundMessage) == 2


def test_get_is_not_allowed(client, twilio_config):
    assert client.get(INBOUND).status_code == 405


# ---------------------------------------------------------------- once per MessageSid


def test_a_retried_message_sid_acts_once(db, client, twilio_config, technician, install_program):
    sid = next_sid()
    first = reply_to(client, technician, "CLAIM SN-500", sid=sid)
    again = reply_to(client, technician, "CLAIM SN-500", sid=sid)
    assert first == again == "Install SN-500 is registered. Thank you!"
    assert count(db, Claim, Claim.serial == "SN-500") == 1
    assert count(db, InboundMessage) == 1


def test_a_retried_stop_records_consent_once(db, client, twilio_config, technician):
    sid = next_sid()
    reply_to(client, technician, "STOP", sid=sid)
    (consent,) = db.scalars(select(ChannelConsent)).all()
    changed = consent.changed_at
    reply_to(client, technician, "STOP", sid=sid)
    db.refresh(consent)
    assert consent.changed_at == changed and count(db, ChannelConsent) == 1


def test_a_duplicate_found_only_at_insert_is_answered_from_the_first(
    db, client, twilio_config, technician, install_program, monkeypatch
):
    """Twilio's retry racing the first delivery: the unique MessageSid stops the second."""
    from messaging import inbound

    sid = next_sid()
    first = reply_to(client, technician, "CLAIM SN-501", sid=sid)
    real = inbound.answered
    calls = []

    def not_seen_the_first_time(session, message_sid):
        calls.append(message_sid)
        return None if len(calls) == 1 else real(session, message_sid)

    monkeypatch.setattr(inbound, "answered", not_seen_the_first_time)
    assert reply_to(client, technician, "CLAIM SN-501", sid=sid) == first
    assert len(calls) == 2
    assert count(db, Claim, Claim.serial == "SN-501") == 1


# ---------------------------------------------------------------- commands by language

#: language -> command -> (the word texted, something the answer says)
COMMANDS = {
    "en": {
        "BAL": ("BAL", "Points: 0 available, 0 pending."),
        "HELP": ("HELP", "CLAIM serial registers an install"),
        "STOP": ("STOP", "You will get no more PartnerLift messages here."),
        "START": ("START", "You will get PartnerLift messages here again."),
        "LANG": ("LANG ru", "Язык изменён: Русский."),
        "CLAIM": ("CLAIM sn-en-1", "Install SN-EN-1 is registered. Thank you!"),
        "CODE": ("CODE", "Your sign-in code is on its way by SMS."),
    },
    "lv": {
        "BAL": ("BILANCE", "Punkti: 0 pieejami, 0 gaida."),
        "HELP": ("PALĪDZĪBA", "PIETEIKT sērijas nr. – uzstādīšana"),
        "STOP": ("APTURĒT", "Jūs vairs nesaņemsiet PartnerLift ziņas."),
        "START": ("SĀKT", "Jūs atkal saņemsiet PartnerLift ziņas."),
        "LANG": ("VALODA en", "Your language is now English."),
        "CLAIM": ("PIETEIKT sn-lv-1", "Uzstādīšana SN-LV-1 reģistrēta. Paldies!"),
        "CODE": ("KODS", "Pieteikšanās kods tiek sūtīts ar SMS."),
    },
    "ru": {
        "BAL": ("БАЛАНС", "Баллы: доступно 0, ожидают 0."),
        "HELP": ("ПОМОЩЬ", "ЗАЯВКА и серийный номер — установка"),
        "STOP": ("СТОП", "Сообщения PartnerLift отключены."),
        "START": ("СТАРТ", "Сообщения PartnerLift снова включены."),
        "LANG": ("ЯЗЫК lv", "Valoda nomainīta: Latviešu."),
        "CLAIM": ("ЗАЯВКА sn-ru-1", "Установка SN-RU-1 зарегистрирована. Спасибо!"),
        "CODE": ("КОД", "Код для входа отправлен по SMS."),
    },
    "pl": {
        "BAL": ("SALDO", "Punkty: dostępne 0, czeka 0."),
        "HELP": ("POMOC", "ZGŁOŚ i numer seryjny rejestruje montaż"),
        "STOP": ("WYPISZ", "Wiadomości PartnerLift wyłączone."),
        "START": ("ZAPISZ", "Wiadomości PartnerLift znów włączone."),
        "LANG": ("JĘZYK en", "Your language is now English."),
        "CLAIM": ("ZGŁOŚ sn-pl-1", "Montaż SN-PL-1 zarejestrowany. Dziękujemy!"),
        "CODE": ("KOD", "Kod logowania jest wysyłany SMS-em."),
    },
    "he": {
        "BAL": ("יתרה", "נקודות: 0 זמינות, 0 ממתינות."),
        "HELP": ("עזרה", "התקנה ומספר סידורי – רישום התקנה"),
        "STOP": ("עצור", "לא תקבלו כאן עוד הודעות PartnerLift."),
        "START": ("התחל", "תקבלו כאן שוב הודעות PartnerLift."),
        "LANG": ("שפה en", "Your language is now English."),
        "CLAIM": ("התקנה sn-he-1", "ההתקנה SN-HE-1 נרשמה. תודה!"),
        "CODE": ("קוד", "קוד הכניסה נשלח ב-SMS."),
    },
    "fa": {
        "BAL": ("موجودی", "امتیاز: ۰ در دسترس، ۰ در انتظار."),
        "HELP": ("راهنما", "نصب و شماره سریال – ثبت نصب"),
        "STOP": ("لغو", "دیگر پیام PartnerLift اینجا دریافت نمی‌کنید."),
        "START": ("شروع", "پیام‌های PartnerLift دوباره اینجا می‌رسد."),
        "LANG": ("زبان en", "Your language is now English."),
        "CLAIM": ("نصب sn-fa-1", "نصب SN-FA-1 ثبت شد. سپاسگزاریم!"),
        "CODE": ("کد", "کد ورود با پیامک فرستاده می‌شود."),
    },
}


@pytest.mark.parametrize(
    ("language", "command"),
    [(language, command) for language in COMMANDS for command in COMMANDS[language]],
)
def test_every_command_in_every_language(
    db, client, twilio_config, world, install_program, language, command
):
    person = make_person(db, world.partner_a, ["technician"], language=language)
    db.commit()
    word, answer = COMMANDS[language][command]
    reply = reply_to(client, person, word)
    assert answer in reply
    (stored,) = db.scalars(select(InboundMessage)).all()
    assert stored.command == command and stored.reply == reply


@pytest.mark.parametrize("language", sorted(COMMANDS))
def test_help_names_words_the_parser_understands(db, client, twilio_config, world, language):
    from messaging.commands import parse

    person = make_person(db, world.partner_a, ["technician"], language=language)
    db.commit()
    words = reply_to(client, person, COMMANDS[language]["HELP"][0]).split()
    understood = {parse(word).name for word in words}
    assert {"BAL", "CLAIM", "CODE", "LANG", "STOP"} <= understood


@pytest.mark.parametrize(
    "body",
    ["bilance", "Bilancē", "BILANCE!", "  bilance  ", "баланс", "Баланс.", "bal", "Bal?"],
)
def test_commands_ignore_case_accents_and_punctuation(db, client, twilio_config, world, body):
    person = make_person(db, world.partner_a, ["technician"], language="en")
    db.commit()
    assert reply_to(client, person, body) == "Points: 0 available, 0 pending."


@pytest.mark.parametrize(
    "word",
    [
        "STOP",
        "stopall",
        "Unsubscribe",
        "END",
        "quit",
        "REVOKE",
        "optout",
        "CANCEL",
        "стоп",
        "apturēt",
    ],
)
def test_every_opt_out_word_opts_out(db, client, twilio_config, technician, word):
    reply_to(client, technician, word)
    consent = db.scalar(select(ChannelConsent).where(ChannelConsent.person_id == technician.id))
    assert consent.opted_out and consent.source == "sms:STOP"


@pytest.mark.parametrize("word", ["START", "unstop", "YES", "sākt", "Старт"])
def test_every_opt_in_word_opts_back_in(db, client, twilio_config, technician, word):
    reply_to(client, technician, "STOP")
    reply_to(client, technician, word)
    consent = db.scalar(select(ChannelConsent).where(ChannelConsent.person_id == technician.id))
    assert not consent.opted_out and consent.source == "sms:START"


# ---------------------------------------------------------------- strangers and nonsense


def test_an_unknown_number_is_told_how_to_join(db, client, twilio_config, world):
    reply = reply_to(client, "+37129999999", "BAL")
    assert reply == (
        "This number is not registered with PartnerLift. Ask your company's manager to add it."
    )
    (stored,) = db.scalars(select(InboundMessage)).all()
    assert stored.person_id is None and stored.from_number == "+37129999999"


def test_an_unknown_number_is_answered_in_the_language_of_its_word(db, client, twilio_config):
    assert reply_to(client, "+37129999998", "БАЛАНС").startswith("Номер не найден в PartnerLift.")
    assert reply_to(client, "+37129999997", "bilance").startswith("Šis numurs nav reģistrēts")
    assert reply_to(client, "+37129999996", "STOP") == (
        "PartnerLift will send nothing to this number."
    )


def test_an_inactive_person_is_a_stranger(db, client, twilio_config, world):
    person = make_person(db, world.partner_a, ["technician"], active=False)
    db.commit()
    assert reply_to(client, person, "BAL").startswith("This number is not registered")


@pytest.mark.parametrize("body", ["", "   ", "\n\t"])
def test_an_empty_message_gets_a_pointer_to_help(db, client, twilio_config, technician, body):
    reply = reply_to(client, technician, body)
    assert reply == "Sorry, that is not a command we know. Text HELP for the list."
    assert db.scalar(select(InboundMessage.command)) is None


@pytest.mark.parametrize("body", ["hello?", "123456", "BALANCEX", "🙂"])
def test_any_other_text_is_for_a_person_to_read(db, client, twilio_config, technician, body):
    # Answered by the conversation's acknowledgement through the outbox (tests/messaging/
    # test_conversations.py), not here.
    assert reply_to(client, technician, body) == ""
    assert db.scalar(select(InboundMessage.command)) is None
    assert db.scalar(select(OutboxMessage.kind)) == "conversation_ack"


def test_an_empty_message_is_answered_in_the_persons_language(db, client, twilio_config, world):
    person = make_person(db, world.partner_a, ["seller"], language="ru")
    db.commit()
    assert reply_to(client, person, " ") == (
        "Такой команды нет. Отправьте ПОМОЩЬ, чтобы увидеть список."
    )


# ---------------------------------------------------------------- consent


def test_stop_then_start_records_consent_with_time_and_source(
    db, client, twilio_config, technician
):
    before = utcnow()
    reply_to(client, technician, "STOP")
    consent = db.scalar(select(ChannelConsent).where(ChannelConsent.person_id == technician.id))
    assert (consent.channel, consent.opted_out, consent.source) == ("sms", True, "sms:STOP")
    assert consent.changed_at >= before
    stopped_at = consent.changed_at
    reply = reply_to(client, technician, "START")
    assert reply.startswith("You will get PartnerLift messages here again.")
    db.refresh(consent)
    assert (consent.opted_out, consent.source) == (False, "sms:START")
    assert consent.changed_at >= stopped_at
    assert count(db, ChannelConsent) == 1


def test_whatsapp_stop_opts_out_of_whatsapp_only(db, client, twilio_config, technician):
    reply = reply_to(client, technician, "STOP", channel="whatsapp")
    assert reply.startswith("You will get no more PartnerLift messages here.")
    (consent,) = db.scalars(select(ChannelConsent)).all()
    assert (consent.channel, consent.opted_out, consent.source) == (
        "whatsapp",
        True,
        "whatsapp:STOP",
    )
    stored = db.scalar(select(InboundMessage))
    assert (stored.channel, stored.from_number) == ("whatsapp", technician.phone)


def test_start_lifts_the_block_twilio_opt_out_caused(db, client, twilio_config, technician):
    db.add(ChannelBlock(person_id=technician.id, channel="sms", error_code="21610"))
    db.add(ChannelBlock(person_id=technician.id, channel="whatsapp", error_code="21610"))
    db.commit()
    reply_to(client, technician, "START")
    assert db.scalars(select(ChannelBlock.channel)).all() == ["whatsapp"]


# ---------------------------------------------------------------- LANG


def test_lang_changes_the_language_and_answers_in_the_new_one(
    db, client, twilio_config, technician
):
    assert technician.language == "en"
    assert reply_to(client, technician, "LANG lv") == "Valoda nomainīta: Latviešu."
    db.refresh(technician)
    assert technician.language == "lv"
    assert reply_to(client, technician, "HELP").startswith("PartnerLift: BILANCE punkti")
    assert reply_to(client, technician, "valoda русский") == "Язык изменён: Русский."


def test_lang_without_a_known_language_lists_the_choices(db, client, twilio_config, technician):
    reply = reply_to(client, technician, "LANG klingon")
    assert reply == "Text LANG and a language: en, lv, pl, ru, he, fa."
    db.refresh(technician)
    assert technician.language == "en"


# ---------------------------------------------------------------- CLAIM


def test_claim_registers_an_install_and_a_second_one_is_reviewed(
    db, client, twilio_config, technician, install_program
):
    assert reply_to(client, technician, "CLAIM ab-777") == (
        "Install AB-777 is registered. Thank you!"
    )
    claim = db.scalar(select(Claim).where(Claim.serial == "AB-777"))
    assert (claim.kind, claim.status, claim.person_id) == ("install", "approved", technician.id)
    assert reply_to(client, technician, "claim AB-777") == (
        "Install AB-777 will be reviewed: this serial number was already claimed."
    )
    assert count(db, Claim, Claim.serial == "AB-777") == 2
    second = db.scalar(select(Claim).where(Claim.serial == "AB-777", Claim.id != claim.id))
    assert second.status == "pending" and "duplicate_serial" in second.flags


def test_claim_outside_every_program_waits_for_review(db, client, twilio_config, technician):
    assert reply_to(client, technician, "CLAIM X-1") == (
        "Install X-1 is received and will be reviewed."
    )


def test_claim_serial_in_persian_digits(db, client, twilio_config, world, install_program):
    person = make_person(db, world.partner_a, ["technician"], language="fa")
    db.commit()
    reply_to(client, person, "نصب ۱۲۳۴۵")
    assert count(db, Claim, Claim.serial == "12345") == 1


def test_claim_without_a_serial_says_how(db, client, twilio_config, technician):
    assert reply_to(client, technician, "CLAIM") == (
        "Text CLAIM and the serial number from the plate, e.g. CLAIM AB12345."
    )
    assert reply_to(client, technician, "CLAIM " + "X" * 101).startswith("Text CLAIM and")
    assert count(db, Claim) == 0


def test_claim_by_manufacturer_staff_is_refused(db, client, twilio_config, world):
    reply = reply_to(client, world.people[Role.CHANNEL_MANAGER], "CLAIM SN-1")
    assert reply == "Only partner staff register installs."
    assert count(db, Claim) == 0


# ---------------------------------------------------------------- CODE


def test_code_issues_a_sign_in_code_through_the_outbox(db, client, twilio_config, technician):
    reply = reply_to(client, technician, "CODE")
    assert reply == "Your sign-in code is on its way by SMS."
    assert count(db, SignInCode, SignInCode.person_id == technician.id) == 1
    (sms,) = db.scalars(select(OutboxMessage)).all()
    assert (sms.kind, sms.channel, sms.recipient, sms.category) == (
        "sign_in_code",
        "sms",
        technician.phone,
        "critical",
    )
    assert not any(ch.isdigit() for ch in db.scalar(select(InboundMessage.reply)))


def test_code_respects_the_per_number_limit(db, client, twilio_config, technician, app):
    limit = app.config["SIGN_IN_CODES_PER_WINDOW"]
    for _ in range(limit):
        assert reply_to(client, technician, "CODE") == "Your sign-in code is on its way by SMS."
    refused = reply_to(client, technician, "CODE")
    assert refused.startswith("Too many codes were sent to this number.")
    assert count(db, SignInCode, SignInCode.person_id == technician.id) == limit
    assert count(db, OutboxMessage) == limit
    assert count(db, InboundMessage) == limit + 1


# ---------------------------------------------------------------- BAL


def test_balance_counts_points_about_to_expire(db, client, twilio_config, world, app):
    person = make_person(db, world.partner_a, ["technician"], language="lv")
    account = person_account(person.id)
    lifetime_days = round(app.config["POINTS_LIFETIME_MONTHS"] * 30.4375)
    now = datetime.now(UTC)

    def earn(points):
        return Line(
            account=account,
            points=points,
            kind="earn",
            partner_id=world.partner_a.id,
            person_id=person.id,
        )

    with time_machine.travel(now - timedelta(days=lifetime_days - 10)):
        post(db, f"old:{person.id}", [earn(100)])  # expires in 10 days
    with time_machine.travel(now - timedelta(days=lifetime_days - 60)):
        post(db, f"newer:{person.id}", [earn(80)])  # expires in 60 days
    spend = Line(
        account=account,
        points=-30,
        kind="redeem",
        partner_id=world.partner_a.id,
        person_id=person.id,
    )
    post(db, f"spend:{person.id}", [spend])  # spends the oldest first
    post(
        db,
        f"pending:{person.id}",
        [
            Line(
                account=account,
                points=40,
                kind="earn",
                bucket="pending",
                partner_id=world.partner_a.id,
                person_id=person.id,
            )
        ],
    )
    db.commit()
    reply = reply_to(client, person, "BILANCE")
    with app.test_request_context(), force_locale("lv"):
        by = format_date(person.day_at(utcnow() + timedelta(days=30)), "short")  # their day
    assert reply == f"Punkti: 150 pieejami, 40 gaida. Līdz {by} beigsies: 70."


def test_balance_in_persian_uses_persian_digits(db, client, twilio_config, world):
    person = make_person(db, world.partner_a, ["seller"], language="fa")
    post(
        db,
        f"earn:{person.id}",
        [
            Line(
                account=person_account(person.id),
                points=1250,
                kind="earn",
                partner_id=world.partner_a.id,
                person_id=person.id,
            )
        ],
    )
    db.commit()
    assert reply_to(client, person, "موجودی") == "امتیاز: ۱٬۲۵۰ در دسترس، ۰ در انتظار."


# ---------------------------------------------------------------- length

#: Every answer but HELP, with sample values as long as real ones.
ANSWERS = [
    ("Install %(serial)s is received and will be reviewed.", {"serial": "AB12345678"}),
    ("Install %(serial)s is registered. Thank you!", {"serial": "AB12345678"}),
    (
        "Install %(serial)s will be reviewed: this serial number was already claimed.",
        {"serial": "AB12345678"},
    ),
    ("Only partner staff register installs.", {}),
    ("PartnerLift will send nothing to this number.", {}),
    (
        "Points: %(available)s available, %(pending)s pending. %(expiring)s expire by %(date)s.",
        {"available": "12 345", "pending": "1 234", "expiring": "1 000", "date": "14.07.2025"},
    ),
    ("Sorry, that is not a command we know. Text %(help)s for the list.", {"help": "HELP"}),
    (
        "Text %(claim)s and the serial number from the plate, e.g. %(claim)s AB12345.",
        {"claim": "CLAIM"},
    ),
    (
        "Text %(language)s and a language: %(choices)s.",
        {"language": "LANG", "choices": "en, lv, pl, ru, he, fa"},
    ),
    (
        "This number is not registered with PartnerLift. Ask your company's manager to add it.",
        {},
    ),
    ("You will get PartnerLift messages here again. Text %(stop)s to stop them.", {"stop": "STOP"}),
    (
        "You will get no more PartnerLift messages here. Text %(start)s to get them again.",
        {"start": "START"},
    ),
    ("Your language is now %(language)s.", {"language": "Latviešu"}),
    ("Your sign-in code is on its way by SMS.", {}),
]


def _with_words(values: dict, language: str) -> dict:
    """Sample values, a command's name given as the word taught in `language`."""
    from messaging.commands import COMMANDS as NAMES
    from messaging.commands import command_word

    return {k: command_word(v, language) if v in NAMES else v for k, v in values.items()}


@pytest.mark.parametrize("language", sorted(COMMANDS))
def test_answers_fit_one_sms_segment_and_help_two(app, language):
    from flask_babel import gettext

    from messaging.segments import count_segments

    with app.test_request_context(), force_locale(language):
        for message, values in ANSWERS:
            answer = gettext(message, **_with_words(values, language))
            assert count_segments(answer).segments == 1, answer
        help_ = gettext(
            "PartnerLift: %(balance)s points, %(claim)s serial registers an install, "
            "%(code)s sign-in code, %(language)s lv sets your language, %(stop)s unsubscribes.",
            **_with_words(
                {"balance": "BAL", "claim": "CLAIM", "code": "CODE", "language": "LANG"}
                | {"stop": "STOP"},
                language,
            ),
        )
        assert count_segments(help_).segments <= 2, help_


# ---------------------------------------------------------------- concurrency


def test_the_same_message_sid_delivered_at_once_acts_once(committed_app):
    """Twilio's retries arriving while the first delivery is still being processed."""
    app = committed_app
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        live_install_program(db, world)
        db.commit()
        technician = world.people[Role.TECHNICIAN]
    params = inbound_params(technician, "CLAIM RACE-1")
    saved = app.config.get("TWILIO_AUTH_TOKEN")
    app.config["TWILIO_AUTH_TOKEN"] = AUTH_TOKEN
    try:
        replies, failures = post_signed_at_once(app, INBOUND, params, workers=WORKERS)
    finally:
        app.config["TWILIO_AUTH_TOKEN"] = saved
    assert failures == []
    assert replies == [(200, "Install RACE-1 is registered. Thank you!")] * WORKERS
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"])
    with factory() as session:
        assert session.scalar(select(func.count(Claim.id)).where(Claim.serial == "RACE-1")) == 1
        sids = select(func.count(InboundMessage.id)).where(
            InboundMessage.message_sid == params["MessageSid"]
        )
        assert session.scalar(sids) == 1


@pytest.mark.parametrize("zone", ["Asia/Jerusalem", "Europe/Riga"])
def test_an_sms_claim_at_half_past_midnight_carries_the_local_date(
    db, client, twilio_config, technician, install_program, zone
):
    technician.timezone = zone
    db.commit()
    day = utcnow().date() + timedelta(days=2)
    midnight = datetime.combine(day, time(0, 30), tzinfo=ZoneInfo(zone))
    assert midnight.astimezone(UTC).date() == day - timedelta(days=1)  # UTC: the day before
    with time_machine.travel(midnight):
        assert (
            reply_to(client, technician, "CLAIM TZ-1") == "Install TZ-1 is registered. Thank you!"
        )
    claim = db.scalar(select(Claim).where(Claim.serial == "TZ-1"))
    assert claim.occurred_on == day
