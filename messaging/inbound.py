"""Messages people text us (SMS or WhatsApp): each MessageSid acts once and gets an answer.

Commands come first, whatever else is going on; any other text lands in the person's
conversation (`messaging.conversations`), read and answered by people.

`receive` records the message first (its MessageSid is unique, so a retried webhook cannot
record it twice), then carries out its command in the same transaction and keeps the answer
on the row, so that a retry is answered the same without acting again. Answers are short,
in the sender's language: the person's own, or for an unknown number the language of the
command word they used.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channel.claim_models import ClaimKind
from channel.expiry import points_expiring
from channel.postings import balance_of, person_account
from core.i18n import force_timezone, format_date, format_number, language_name
from messaging import commands, texted_claims
from messaging.commands import (
    BALANCE,
    CLAIM,
    CODE,
    HELP,
    LANGUAGE,
    SALE,
    START,
    STOP,
    command_word,
)
from messaging.consent import set_consent
from messaging.conversations import hear
from messaging.inbound_media import TextedPhotos
from messaging.models import ChannelBlock, InboundMessage, MessageChannel
from messaging.surveys.dialogue import DialogueSettings, reply_to
from messaging.texted_claims import claim_kind_of
from messaging.whatsapp import record_inbound
from roles.auth import (
    CodePolicy,
    SignInRefused,
    count_code_request,
    find_by_phone,
    issue_sign_in_code,
)
from roles.models import Person
from roles.permissions import Permission

log = logging.getLogger(__name__)

#: A balance answer also counts the points that expire within this time.
EXPIRY_NOTICE = timedelta(days=30)
#: Twilio's error for a number that opted out; START lifts the block it caused.
OPTED_OUT_ERROR = "21610"


@dataclass(frozen=True)
class InboundSettings:
    languages: tuple[str, ...]
    default_language: str
    code_policy: CodePolicy
    points_lifetime: timedelta
    return_window: timedelta
    #: Survey answers by reply; None: replies are never read as answers.
    surveys: DialogueSettings | None = None


def channel_and_number(from_address: str) -> tuple[str, str]:
    """("whatsapp", "+371…") for "whatsapp:+371…", else ("sms", the number)."""
    address = (from_address or "").strip()
    if address.lower().startswith("whatsapp:"):
        return MessageChannel.WHATSAPP, address.split(":", 1)[1].strip()
    return MessageChannel.SMS, address


def answered(session: Session, message_sid: str) -> InboundMessage | None:
    """The message already received under `message_sid`, with the answer it got."""
    return session.scalar(select(InboundMessage).where(InboundMessage.message_sid == message_sid))


def receive_once(
    session: Session,
    *,
    message_sid: str,
    from_address: str,
    body: str,
    now: datetime,
    settings: InboundSettings,
    photos: TextedPhotos | None = None,
) -> InboundMessage:
    """The message received under `message_sid`: recorded and acted on now, or, when it
    was already (a retried webhook, even one racing the first delivery), as it was then."""
    message = answered(session, message_sid)
    if message is not None:
        return message
    try:
        with session.begin_nested():
            return receive(
                session,
                message_sid=message_sid,
                from_address=from_address,
                body=body,
                now=now,
                settings=settings,
                photos=photos,
            )
    except IntegrityError:
        # Twilio's retry raced the first delivery of this MessageSid: answer as it did.
        message = answered(session, message_sid)
        if message is None:
            raise
        return message


def receive(
    session: Session,
    *,
    message_sid: str,
    from_address: str,
    body: str,
    now: datetime,
    settings: InboundSettings,
    photos: TextedPhotos | None = None,
) -> InboundMessage:
    """Record one inbound message and act on it; flushes, and raises IntegrityError when
    `message_sid` was recorded meanwhile (`receive_once` then answers from that row).
    `photos` (fetched by `messaging.inbound_media`) make the message a claim with them: an
    install's or a sale's (`messaging.texted_claims`)."""
    channel, number = channel_and_number(from_address)
    person = find_by_phone(session, number) if number else None
    command = commands.parse(body)
    message = InboundMessage(
        message_sid=message_sid,
        channel=channel,
        from_number=number[:32],
        person_id=person.id if person else None,
        body=body or "",
        command=command.name,
        reply="",
        received_at=now,
    )
    session.add(message)
    session.flush()  # first: a duplicate MessageSid stops here, before anything changes
    if person is not None and channel == MessageChannel.WHATSAPP:
        record_inbound(session, person.id, now)  # their window is open for 24 hours
    if person is None:
        message.reply = _answer_stranger(command, settings)
    elif photos is not None:
        claim = _claim_sale if claim_kind_of(person, command) == ClaimKind.SALE else _claim_install
        with force_timezone(person.timezone):
            message.reply = claim(session, person, channel, command, now, settings, photos=photos)
    else:
        act = _ACTIONS.get(command.name)
        with force_timezone(person.timezone):  # the sender's days, whoever's server answers
            if act is not None:
                message.reply = act(session, person, channel, command, now, settings)
            elif (
                settings.surveys is not None
                and (answer := reply_to(session, person, message, now, settings.surveys))
                is not None
            ):
                message.reply = answer  # commands win over answers, answers over chat
            elif body and body.strip():
                # Anything else is for a person to read: into their conversation, which
                # acknowledges it by the outbox (quiet hours apply), so no answer here.
                hear(
                    session,
                    person,
                    channel=channel,
                    body=body,
                    now=now,
                    inbound_message_id=message.id,
                )
            else:
                message.reply = _not_understood(person, settings)
    session.flush()
    log.info(
        "inbound message=%s channel=%s person=%s command=%s",
        message.id,
        channel,
        message.person_id,
        command.name,
    )
    return message


def _language(person: Person, settings: InboundSettings) -> str:
    return person.language if person.language in settings.languages else settings.default_language


def _words(person: Person, settings: InboundSettings, **commands_by_name) -> dict[str, str]:
    """The command words to teach the person, in the language they are answered in."""
    language = _language(person, settings)
    return {name: command_word(command, language) for name, command in commands_by_name.items()}


def _answer_stranger(command: commands.Command, settings: InboundSettings) -> str:
    language = command.language or settings.default_language
    with force_locale(language):
        if command.name == commands.STOP:
            return _("PartnerLift will send nothing to this number.")
        return _(
            "This number is not registered with PartnerLift. Ask your company's manager to add it."
        )


def _balance(session, person, channel, command, now, settings) -> str:
    account = person_account(person.id)
    pending, available = balance_of(session, account)
    expiring = points_expiring(
        session, account, by=now + EXPIRY_NOTICE, lifetime=settings.points_lifetime
    )
    with force_locale(_language(person, settings)):
        values = {"available": format_number(available), "pending": format_number(pending)}
        if expiring > 0:
            return _(
                "Points: %(available)s available, %(pending)s pending. "
                "%(expiring)s expire by %(date)s.",
                expiring=format_number(expiring),
                date=format_date(person.day_at(now + EXPIRY_NOTICE), "short"),
                **values,
            )
        return _("Points: %(available)s available, %(pending)s pending.", **values)


def _help(session, person, channel, command, now, settings) -> str:
    words = _words(
        person,
        settings,
        balance=BALANCE,
        claim=CLAIM,
        sale=SALE,
        code=CODE,
        language=LANGUAGE,
        stop=STOP,
    )
    with force_locale(_language(person, settings)):
        if claim_kind_of(person, command) == ClaimKind.SALE:  # a seller is taught SALE
            return _(
                "PartnerLift: %(balance)s points, %(sale)s invoice product quantity claims a "
                "sale, %(code)s sign-in code, %(language)s lv sets your language, "
                "%(stop)s unsubscribes.",
                **words,
            )
        return _(
            "PartnerLift: %(balance)s points, %(claim)s serial registers an install, "
            "%(code)s sign-in code, %(language)s lv sets your language, %(stop)s unsubscribes.",
            **words,
        )


def _stop(session, person, channel, command, now, settings) -> str:
    set_consent(session, person.id, channel, opted_out=True, source=f"{channel}:{commands.STOP}")
    with force_locale(_language(person, settings)):
        return _(
            "You will get no more PartnerLift messages here. Text %(start)s to get them again.",
            **_words(person, settings, start=START),
        )


def _start(session, person, channel, command, now, settings) -> str:
    set_consent(session, person.id, channel, opted_out=False, source=f"{channel}:{commands.START}")
    # Twilio lifts its own opt-out block on START; so do we.
    session.execute(
        delete(ChannelBlock).where(
            ChannelBlock.person_id == person.id,
            ChannelBlock.channel == channel,
            ChannelBlock.error_code == OPTED_OUT_ERROR,
        )
    )
    with force_locale(_language(person, settings)):
        return _(
            "You will get PartnerLift messages here again. Text %(stop)s to stop them.",
            **_words(person, settings, stop=STOP),
        )


def _choose_language(session, person, channel, command, now, settings) -> str:
    chosen = commands.parse_language(command.argument, settings.languages)
    if chosen is None:
        with force_locale(_language(person, settings)):
            return _(
                "Text %(language)s and a language: %(choices)s.",
                choices=", ".join(settings.languages),
                **_words(person, settings, language=LANGUAGE),
            )
    person.language = chosen
    session.flush()
    with force_locale(chosen):
        return _("Your language is now %(language)s.", language=language_name(chosen))


def takes_photos(session: Session, message_sid: str, from_address: str, body: str) -> bool:
    """Whether a message's photos are worth fetching: it is new, from someone who may claim,
    and it is a claim (CLAIM, SALE, or no command at all)."""
    if answered(session, message_sid) is not None:
        return False
    if commands.parse(body).name not in (None, CLAIM, SALE):
        return False
    number = channel_and_number(from_address)[1]
    person = find_by_phone(session, number) if number else None
    return person is not None and person.can(Permission.SUBMIT_CLAIMS)


def _claim_install(session, person, channel, command, now, settings, photos=None) -> str:
    return texted_claims.claim_install(
        session,
        person,
        command,
        today=person.day_at(now),  # at 00:30 in Riga the install is today's there, not UTC's
        language=_language(person, settings),
        claim_word=_words(person, settings, claim=CLAIM)["claim"],
        return_window=settings.return_window,
        photos=photos,
    )


def _claim_sale(session, person, channel, command, now, settings, photos=None) -> str:
    return texted_claims.claim_sale(
        session,
        person,
        command,
        today=person.day_at(now),
        language=_language(person, settings),
        sale_word=_words(person, settings, sale=SALE)["sale"],
        return_window=settings.return_window,
        photos=photos,
    )


def _sign_in_code(session, person, channel, command, now, settings) -> str:
    try:
        # The code itself goes out by SMS through the outbox (messaging.notifications).
        count_code_request(session, person.phone, settings.code_policy, now)
        issue_sign_in_code(session, person, settings.code_policy, now)
    except SignInRefused as refused:
        with force_locale(_language(person, settings)):
            return str(refused)
    with force_locale(_language(person, settings)):
        return _("Your sign-in code is on its way by SMS.")


def _not_understood(person, settings) -> str:
    with force_locale(_language(person, settings)):
        return _(
            "Sorry, that is not a command we know. Text %(help)s for the list.",
            **_words(person, settings, help=HELP),
        )


_ACTIONS = {
    commands.BALANCE: _balance,
    commands.HELP: _help,
    commands.STOP: _stop,
    commands.START: _start,
    commands.LANGUAGE: _choose_language,
    commands.CLAIM: _claim_install,
    commands.SALE: _claim_sale,
    commands.CODE: _sign_in_code,
}
