"""The demo's messaging side, loaded after the channel's (`channel.signals.demo_seeded`): an
open conversation in Hebrew, a technician's question answered by the channel manager, with
a follow-up nobody has read yet."""

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.signals import demo_seeded
from messaging.compose import render_for
from messaging.conversation_models import (
    Conversation,
    ConversationEntry,
    ConversationStatus,
    EntryKind,
)
from messaging.conversations import ACK_KIND
from messaging.models import MessageChannel
from roles.models import Person

#: The demo's Hebrew-speaking technician (channel.demo.PEOPLE) and its channel manager.
TECHNICIAN_PHONE = "+972522345678"
CHANNEL_MANAGER_PHONE = "+37120000001"

#: (kind, days before today, hour UTC, text): the thread, oldest first.
THREAD = (
    (
        EntryKind.FROM_PERSON,
        2,
        7,
        "שלום, התקנתי אתמול שני דוודים מדגם X200 אבל הנקודות עדיין לא הופיעו. מה עליי לעשות?",
    ),
    (EntryKind.ACKNOWLEDGEMENT, 2, 7, None),  # as the person's language has it
    (
        EntryKind.REPLY,
        2,
        9,
        "שלום יוסי, הנקודות נרשמות כ'ממתינות' עד שחלון ההחזרה נסגר אחרי 14 יום. "
        "שתי ההתקנות התקבלו.",
    ),
    (EntryKind.NOTE, 2, 9, "Checked both serials: registered, no fraud flags."),
    (EntryKind.FROM_PERSON, 1, 16, "תודה! והאם גם משאבת החום החדשה נכללת בתוכנית?"),
)


def seed_demo_conversation(_sender, *, session: Session, created: dict, today, **_):
    technician = session.scalar(select(Person).where(Person.phone == TECHNICIAN_PHONE))
    manager = session.scalar(select(Person).where(Person.phone == CHANNEL_MANAGER_PHONE))
    created["conversations"] = 0
    if technician is None or manager is None:
        return
    if session.scalar(select(Conversation.id).where(Conversation.person_id == technician.id)):
        return

    def moment(days: int, hour: int) -> datetime:
        return datetime.combine(today - timedelta(days=days), time(hour), tzinfo=UTC)

    last = moment(*THREAD[-1][1:3])
    conversation = Conversation(
        person_id=technician.id,
        status=ConversationStatus.OPEN,
        assignee_id=manager.id,
        unread=1,  # the follow-up: nobody has read it yet
        last_channel=MessageChannel.SMS,
        last_message_at=last,
        opened_at=moment(*THREAD[0][1:3]),
        acknowledged_on=today - timedelta(days=THREAD[0][1]),
    )
    session.add(conversation)
    session.flush()
    for kind, days, hour, text in THREAD:
        session.add(
            ConversationEntry(
                conversation_id=conversation.id,
                kind=kind,
                channel=MessageChannel.INAPP if kind == EntryKind.NOTE else MessageChannel.SMS,
                body=text or render_for(technician, ACK_KIND, MessageChannel.SMS).body,
                author_id=manager.id if kind in (EntryKind.REPLY, EntryKind.NOTE) else None,
                at=moment(days, hour),
            )
        )
    session.flush()
    created["conversations"] = 1


def connect_handlers() -> None:
    demo_seeded.connect(seed_demo_conversation)
