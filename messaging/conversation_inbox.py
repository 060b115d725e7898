"""The shared inbox's reading side: conversations within what the reader may see, filtered
and paged; the unread count for the menu; a thread; messages from unknown numbers.

Scope: the manufacturer's people see every conversation; a partner manager only those of
their own company's people (`scoped_conversations`, which `roles.access.requires` also uses
to load a conversation named in a URL, so another partner's ids answer 404).
"""

from dataclasses import dataclass

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from channel.models import Enrollment, Program
from channel.partner_models import PartnerOrganization
from channel.scoping import scoped_partners, scoped_programs
from messaging.conversation_models import (
    VISIBLE_TO_PERSON,
    Conversation,
    ConversationEntry,
    ConversationStatus,
    EntryKind,
)
from messaging.models import InboundMessage
from roles.access import load_in_scope
from roles.models import Person, RoleAssignment
from roles.permissions import Permission, sees_all_partners


def scoped_conversations(actor: Person) -> Select:
    stmt = select(Conversation)
    if not sees_all_partners(actor.partner_id):
        mine = select(Person.id).where(Person.partner_id == actor.partner_id)
        stmt = stmt.where(Conversation.person_id.in_(mine))
    return stmt


def connect_scopes() -> None:
    """`conversation_id` in a URL names a conversation within the reader's scope."""
    load_in_scope("conversation_id", "conversation", Conversation, scoped_conversations)


@dataclass(frozen=True)
class InboxFilters:
    status: str = ConversationStatus.OPEN
    partner_id: int | None = None
    role: str = ""
    country: str = ""
    language: str = ""
    program_id: int | None = None
    #: "me": assigned to the reader; "nobody": to no one; "": either.
    assigned: str = ""


@dataclass(frozen=True)
class InboxRow:
    conversation: Conversation
    person: Person
    partner_name: str
    #: The person's latest message.
    last_text: str


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int


def inbox_page(
    session: Session, actor: Person, filters: InboxFilters, page: int, per_page: int
) -> InboxPage:
    """The reader's conversations under `filters`, unread first, then the latest first."""
    stmt = _filtered(actor, filters)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    conversations = session.scalars(
        stmt.options(
            joinedload(Conversation.person).joinedload(Person.partner),
            joinedload(Conversation.person).selectinload(Person.role_assignments),
            joinedload(Conversation.assignee),
        )
        .order_by(
            (Conversation.unread > 0).desc(),
            Conversation.last_message_at.desc(),
            Conversation.id.desc(),
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    latest = _latest_texts(session, [c.id for c in conversations])
    rows = [
        InboxRow(
            conversation=c,
            person=c.person,
            partner_name=c.person.partner.name if c.person.partner else "",
            last_text=latest.get(c.id, ""),
        )
        for c in conversations
    ]
    return InboxPage(rows, total)


def _filtered(actor: Person, filters: InboxFilters) -> Select:
    stmt = scoped_conversations(actor).join(Person, Person.id == Conversation.person_id)
    if filters.status:
        stmt = stmt.where(Conversation.status == filters.status)
    if filters.partner_id:
        stmt = stmt.where(Person.partner_id == filters.partner_id)
    if filters.role:
        stmt = stmt.where(
            exists().where(
                RoleAssignment.person_id == Person.id, RoleAssignment.role == filters.role
            )
        )
    if filters.country:
        stmt = stmt.where(
            exists().where(
                PartnerOrganization.id == Person.partner_id,
                PartnerOrganization.country == filters.country,
            )
        )
    if filters.language:
        stmt = stmt.where(Person.language == filters.language)
    if filters.program_id:
        stmt = stmt.where(
            exists().where(
                Enrollment.person_id == Person.id,
                Enrollment.program_id == filters.program_id,
                Enrollment.current,
            )
        )
    if filters.assigned == "me":
        stmt = stmt.where(Conversation.assignee_id == actor.id)
    elif filters.assigned == "nobody":
        stmt = stmt.where(Conversation.assignee_id.is_(None))
    return stmt


def _latest_texts(session: Session, conversation_ids: list[int]) -> dict[int, str]:
    if not conversation_ids:
        return {}
    newest = (
        select(func.max(ConversationEntry.id))
        .where(
            ConversationEntry.conversation_id.in_(conversation_ids),
            ConversationEntry.kind == EntryKind.FROM_PERSON,
        )
        .group_by(ConversationEntry.conversation_id)
    )
    return dict(
        session.execute(
            select(ConversationEntry.conversation_id, ConversationEntry.body).where(
                ConversationEntry.id.in_(newest)
            )
        ).all()
    )


def unread_conversations(session: Session, actor: Person) -> int:
    """Open conversations with messages nobody has read yet, within the reader's scope."""
    if not actor.can(Permission.WORK_CONVERSATIONS):
        return 0
    stmt = scoped_conversations(actor).where(
        Conversation.status == ConversationStatus.OPEN, Conversation.unread > 0
    )
    return session.scalar(select(func.count()).select_from(stmt.subquery()))


@dataclass(frozen=True)
class FilterChoices:
    partners: list[tuple[int, str]]
    countries: list[str]
    programs: list[tuple[int, str]]


def filter_choices(session: Session, actor: Person) -> FilterChoices:
    """What the reader may narrow the inbox to: the partners they see whose people wrote to
    us (not every partner: the list stays short), and the programs they see."""
    wrote = select(Person.partner_id).join(Conversation, Conversation.person_id == Person.id)
    partners = (
        scoped_partners(actor)
        .where(PartnerOrganization.id.in_(wrote))
        .order_by(PartnerOrganization.name)
    )
    seen = session.scalars(partners).all()
    programs = session.scalars(scoped_programs(actor).order_by(Program.name)).all()
    return FilterChoices(
        partners=[(p.id, p.name) for p in seen],
        countries=sorted({p.country for p in seen}),
        programs=[(p.id, p.name) for p in programs],
    )


@dataclass(frozen=True)
class Thread:
    #: The shown entries, oldest first.
    entries: list[ConversationEntry]
    #: Whether earlier entries are left out (shown from `entries[0].id` back).
    has_earlier: bool


def thread(
    session: Session,
    conversation_id: int,
    *,
    for_person: bool,
    limit: int,
    text_bytes: int,
    before_id: int | None = None,
) -> Thread:
    """The latest entries (before `before_id`, if given), oldest first: at most `limit`, and
    no more than fit in `text_bytes` of UTF-8 text (always the latest one), so that a page
    of long messages stays light. The person's own view leaves notes out."""
    stmt = (
        select(ConversationEntry)
        .where(ConversationEntry.conversation_id == conversation_id)
        .options(
            selectinload(ConversationEntry.author), selectinload(ConversationEntry.outbox_message)
        )
        .order_by(ConversationEntry.id.desc())
        .limit(limit + 1)
    )
    if for_person:
        stmt = stmt.where(ConversationEntry.kind.in_(VISIBLE_TO_PERSON))
    if before_id is not None:
        stmt = stmt.where(ConversationEntry.id < before_id)
    newest_first = list(session.scalars(stmt))
    shown, size = [], 0
    for entry in newest_first[:limit]:
        size += len(entry.body.encode())
        if shown and size > text_bytes:
            break
        shown.append(entry)
    return Thread(shown[::-1], len(newest_first) > len(shown))


def conversation_of(session: Session, person_id: int) -> Conversation | None:
    return session.scalar(select(Conversation).where(Conversation.person_id == person_id))


def from_unknown_numbers(session: Session, actor: Person, limit: int) -> list[InboundMessage]:
    """The latest messages from numbers that are nobody's: for the manufacturer's people
    only (nobody at a partner may read what a stranger wrote, nor learn their number)."""
    if not sees_all_partners(actor.partner_id):
        return []
    return list(
        session.scalars(
            select(InboundMessage)
            .where(
                InboundMessage.person_id.is_(None),
                InboundMessage.command.is_(None),
                InboundMessage.body != "",
            )
            .order_by(InboundMessage.id.desc())
            .limit(limit)
        )
    )
