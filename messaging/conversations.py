"""What happens in a conversation: a person's message lands in it (acknowledged once a day at
most), and the people working the inbox reply, note, assign, and mark it done or open.

Concurrency: a person's conversation is unique in the database, so two of their messages
arriving at once create it once (the loser of the insert reads the winner's row). Counters
and the acknowledgement day change by conditional UPDATEs, which PostgreSQL applies one
after the other on the row: of two first messages the same day, exactly one acknowledges.

Acknowledgements and replies are outbox rows like every other message: quiet hours hold
them until morning (`messaging.delivery`), consent and blocked channels apply as ever.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from messaging.compose import notify, render_for
from messaging.conversation_models import (
    Conversation,
    ConversationEntry,
    ConversationStatus,
    EntryKind,
)
from messaging.models import MessageChannel
from messaging.nudges import link
from messaging.policy import PHONE_CHANNELS
from roles.models import Person, RoleAssignment
from roles.permissions import (
    MANUFACTURER_ROLES,
    ROLE_PERMISSIONS,
    Permission,
    sees_all_partners,
)

#: The longest text typed in the inbox or on the phone (ten SMS segments and some).
MAX_TEXT = 1000
ACK_KIND = "conversation_ack"
REPLY_KIND = "conversation_reply"


class ConversationRefused(InvalidInput):
    pass


@dataclass(frozen=True)
class Heard:
    conversation: Conversation
    entry: ConversationEntry
    #: The automatic acknowledgement, when this message earned one.
    acknowledgement: ConversationEntry | None


def hear(
    session: Session,
    person: Person,
    *,
    channel: str,
    body: str,
    now: datetime,
    inbound_message_id: int | None = None,
) -> Heard:
    """`person`'s message into their conversation, which it opens if it was done (or new);
    the first message of an opened conversation is acknowledged, once a day at most."""
    conversation, opened = _conversation_for(session, person.id, channel, now)
    entry = _add_entry(
        session,
        conversation,
        EntryKind.FROM_PERSON,
        body,
        now,
        channel=channel,
        inbound_message_id=inbound_message_id,
    )
    # In SQL, not from the loaded row: a message arriving at the same moment adds its own.
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(unread=Conversation.unread + 1, last_channel=channel, last_message_at=now)
        .execution_options(synchronize_session=False)
    )
    acknowledgement = _acknowledge(session, conversation, person, channel, now) if opened else None
    session.refresh(conversation)
    return Heard(conversation, entry, acknowledgement)


def ask(session: Session, person: Person, text: str, *, now: datetime) -> Heard:
    """A question typed on the phone ("Ask us"): answered in-app and on the person's channel."""
    return hear(session, person, channel=MessageChannel.INAPP, body=_text(text, "text"), now=now)


def _conversation_for(session: Session, person_id: int, channel: str, now: datetime):
    """(the person's conversation, whether this message opened it)."""
    conversation = _of_person(session, person_id)
    if conversation is None:
        try:
            with session.begin_nested():
                conversation = Conversation(
                    person_id=person_id,
                    status=ConversationStatus.OPEN,
                    last_channel=channel,
                    last_message_at=now,
                    opened_at=now,
                )
                session.add(conversation)
                session.flush()
            return conversation, True
        except IntegrityError:
            # Another message of theirs created it meanwhile: this one joins it.
            conversation = _of_person(session, person_id)
            if conversation is None:
                raise
    reopened = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.status == ConversationStatus.DONE)
        .values(status=ConversationStatus.OPEN, opened_at=now, done_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    return conversation, reopened == 1


def _of_person(session: Session, person_id: int) -> Conversation | None:
    return session.scalar(select(Conversation).where(Conversation.person_id == person_id))


def _acknowledge(session, conversation, person, channel, now) -> ConversationEntry | None:
    today = person.day_at(now)  # the person's own day: a night in Riga is not UTC's
    claimed = session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation.id,
            or_(Conversation.acknowledged_on.is_(None), Conversation.acknowledged_on < today),
        )
        .values(acknowledged_on=today)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return None
    outbox = None
    if channel in PHONE_CHANNELS:
        # Not critical: during the person's quiet hours it waits for their morning.
        outbox = notify(session, person, ACK_KIND, channel=channel, source="conversation:ack")
        body = outbox.body
    else:
        body = render_for(person, ACK_KIND, MessageChannel.INAPP).body
    return _add_entry(
        session,
        conversation,
        EntryKind.ACKNOWLEDGEMENT,
        body,
        now,
        channel=channel,
        outbox_message_id=outbox.id if outbox else None,
    )


def _add_entry(session, conversation, kind, body, now, *, channel, author_id=None, **more):
    entry = ConversationEntry(
        conversation_id=conversation.id,
        kind=kind,
        channel=channel,
        body=body,
        author_id=author_id,
        at=now,
        **more,
    )
    session.add(entry)
    session.flush()
    return entry


def _text(text: str | None, field: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ConversationRefused({field: _l("Write something first.")})
    if len(text) > MAX_TEXT:
        raise ConversationRefused({field: _l("Keep it under %(max)s characters.", max=MAX_TEXT)})
    return text


# ---------------------------------------------------------------- the inbox's side


def mark_read(session: Session, conversation: Conversation) -> bool:
    """Someone working the inbox opened the conversation; True when it had unread messages."""
    if not conversation.unread:
        return False
    conversation.unread = 0
    session.flush()
    return True


def reply(
    session: Session, conversation: Conversation, author: Person, text: str, *, now: datetime
) -> ConversationEntry:
    """Answer on the channel the person last wrote from; a question asked on the phone is
    answered in-app (the thread) and on their first usable channel, with a link to the thread."""
    text = _text(text, "text")
    person = conversation.person
    if not person.active:
        raise ConversationRefused({"text": _l("This person can no longer be reached.")})
    channel = conversation.last_channel
    if channel in PHONE_CHANNELS:
        outbox = notify(session, person, REPLY_KIND, channel=channel, reply=text, url=None)
    else:
        thread = link("conversations.my_conversation")
        outbox = notify(session, person, REPLY_KIND, reply=text, url=thread)
    conversation.unread = 0
    return _add_entry(
        session,
        conversation,
        EntryKind.REPLY,
        text,
        now,
        channel=outbox.channel if outbox is not None else MessageChannel.INAPP,
        author_id=author.id,
        outbox_message_id=outbox.id if outbox is not None else None,
    )


def add_note(
    session: Session, conversation: Conversation, author: Person, text: str, *, now: datetime
) -> ConversationEntry:
    """An internal note: for colleagues only, never sent."""
    return _add_entry(
        session,
        conversation,
        EntryKind.NOTE,
        _text(text, "text"),
        now,
        channel=MessageChannel.INAPP,
        author_id=author.id,
    )


def assign(
    session: Session, conversation: Conversation, actor: Person, assignee_id: int | None
) -> None:
    """Give the conversation to a colleague who may work on it (None: to anyone)."""
    if assignee_id is not None:
        assignee = session.get(Person, assignee_id)
        if (
            assignee is None
            or not assignee.active
            or assignee_id not in colleague_ids(session, actor, conversation)
        ):
            raise ConversationRefused({"assignee": _l("Choose a colleague who may answer it.")})
    conversation.assignee_id = assignee_id
    session.flush()


#: The roles that work the inbox, on the manufacturer's side and on a partner's.
_WORKING_ROLES = frozenset(
    role for role, granted in ROLE_PERMISSIONS.items() if Permission.WORK_CONVERSATIONS in granted
)


def colleagues(session: Session, actor: Person, conversation: Conversation) -> list[Person]:
    """Who `actor` may hand the conversation to: active people who may work on it and whom
    the actor sees (a partner manager: their own company's managers)."""
    of_partner = and_(
        Person.partner_id == conversation.person.partner_id,
        RoleAssignment.role.in_(_WORKING_ROLES - MANUFACTURER_ROLES),
    )
    if sees_all_partners(actor.partner_id):
        manufacturer = and_(
            Person.partner_id.is_(None),
            RoleAssignment.role.in_(_WORKING_ROLES & MANUFACTURER_ROLES),
        )
        of_partner = or_(manufacturer, of_partner)
    return list(
        session.scalars(
            select(Person)
            .join(RoleAssignment, RoleAssignment.person_id == Person.id)
            .where(Person.active.is_(True), of_partner)
            .distinct()
            .order_by(Person.full_name, Person.id)
        )
    )


def colleague_ids(session: Session, actor: Person, conversation: Conversation) -> list[int]:
    return [person.id for person in colleagues(session, actor, conversation)]


def set_status(session: Session, conversation: Conversation, status: str, *, now: datetime) -> None:
    """Done (answered, nothing more to do) or open again."""
    if status not in (ConversationStatus.OPEN, ConversationStatus.DONE):
        raise ConversationRefused({"status": _l("Choose open or done.")})
    if conversation.status == status:
        return
    conversation.status = status
    if status == ConversationStatus.DONE:
        conversation.done_at, conversation.unread = now, 0
    else:
        conversation.done_at, conversation.opened_at = None, now
    session.flush()
