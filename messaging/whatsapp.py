"""WhatsApp's 24-hour window and the Content templates that reach a person outside it.

A person's window opens at their last inbound WhatsApp message and closes 24 hours later
(`record_inbound`, one row per person, only ever moved forward). Inside it a message goes as
free text; outside it only as a template WhatsApp approved for the message's kind in the
person's language, its variables filled from the values the message was written with
(`route`). The outbox worker asks `route` for every WhatsApp message it sends; a message
with no such template goes by the person's next channel instead. A message that asks for a
choice (yes/no, "reply BAL for your balance") goes with buttons where its kind has a
quick-reply template: inside the window whether WhatsApp approved it yet or not.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import force_locale
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.i18n import format_date, format_number
from messaging.models import ContentTemplate, OutboxMessage, TemplateApproval, WhatsAppWindow

#: How long after a person's last message WhatsApp takes free text.
WINDOW = timedelta(hours=24)


def record_inbound(session: Session, person_id: int, at: datetime) -> None:
    """Open (or keep open) the person's window from `at`. One statement, an upsert that never
    moves the moment back, so two webhooks at once leave the later of the two."""
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    table = WhatsAppWindow.__table__
    statement = dialect.insert(table).values(person_id=person_id, last_inbound_at=at)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.person_id],
            set_={"last_inbound_at": statement.excluded.last_inbound_at},
            where=table.c.last_inbound_at < statement.excluded.last_inbound_at,
        )
    )


def window_closes_at(session: Session, person_id: int) -> datetime | None:
    """When the person's window closes (or closed); None when they never wrote on WhatsApp."""
    last = session.scalar(
        select(WhatsAppWindow.last_inbound_at).where(WhatsAppWindow.person_id == person_id)
    )
    return last + WINDOW if last is not None else None


def windows_between(session: Session, low: int, high: int) -> dict[int, datetime]:
    """When the windows of people `low`…`high` (ids) close: one query for a campaign's chunk."""
    rows = session.execute(
        select(WhatsAppWindow.person_id, WhatsAppWindow.last_inbound_at).where(
            WhatsAppWindow.person_id.between(low, high)
        )
    )
    return {person_id: last + WINDOW for person_id, last in rows}


def close_window(session: Session, person_id: int, sent_at: datetime) -> None:
    """WhatsApp said the window was closed when we sent at `sent_at`: forget what we knew of
    it until then (an inbound message recorded since opens a new one and stays)."""
    session.execute(
        delete(WhatsAppWindow).where(
            WhatsAppWindow.person_id == person_id, WhatsAppWindow.last_inbound_at <= sent_at
        )
    )


def primary_language(code: str | None) -> str:
    """Twilio's "en_US" or "pt-BR" as PartnerLift's two-letter code: "en", "pt"."""
    return (code or "").replace("-", "_").split("_")[0].lower()[:8]


#: Content with buttons: a tap comes back as an inbound message with the button's text.
QUICK_REPLY = "twilio/quick-reply"
#: Verdicts under which a quick reply may still go inside the window, where WhatsApp takes
#: any message the business sends without approval.
IN_SESSION = (
    TemplateApproval.APPROVED,
    TemplateApproval.PENDING,
    TemplateApproval.RECEIVED,
    TemplateApproval.UNSUBMITTED,
)


def quick_reply_template(session: Session, kind: str, language: str) -> ContentTemplate | None:
    """Buttons for a message that asks for a choice (`kind` in `language`), inside the window."""
    return session.scalar(
        select(ContentTemplate)
        .where(
            ContentTemplate.kind == kind,
            ContentTemplate.language == primary_language(language),
            ContentTemplate.content_type == QUICK_REPLY,
            ContentTemplate.approval.in_(IN_SESSION),
        )
        .order_by(
            (ContentTemplate.approval == TemplateApproval.APPROVED).desc(),
            ContentTemplate.updated_at.desc(),
            ContentTemplate.id.desc(),
        )
        .limit(1)
    )


def approved_template(session: Session, kind: str, language: str) -> ContentTemplate | None:
    """The approved template for `kind` in `language`: one with buttons first, then the most
    recently changed."""
    return session.scalar(
        select(ContentTemplate)
        .where(
            ContentTemplate.kind == kind,
            ContentTemplate.language == primary_language(language),
            ContentTemplate.approval == TemplateApproval.APPROVED,
        )
        .order_by(
            (ContentTemplate.content_type == QUICK_REPLY).desc(),
            ContentTemplate.updated_at.desc(),
            ContentTemplate.id.desc(),
        )
        .limit(1)
    )


# ---------------------------------------------------------------- values for variables


def variable_names(session: Session, kind: str) -> set[str]:
    """Every value a template of `kind` asks for, approved or not (it may be by sending time)."""
    names: set[str] = set()
    for variables in session.scalars(
        select(ContentTemplate.variables).where(ContentTemplate.kind == kind)
    ):
        names.update(name for name in variables or () if name)
    return names


def first_name(full_name: str) -> str:
    return (full_name.split() or [""])[0]


#: What a template of a message written as a whole may name.
WRITTEN_NAMES = ("first_name", "full_name", "text")


def written_values(names, full_name: str, text: str) -> dict[str, str] | None:
    """The values a template may name for a message written as a whole (a campaign's, a
    survey's): the text itself and the recipient's names; None when it names none of them."""
    namespace = {"first_name": first_name(full_name), "full_name": full_name, "text": text}
    return {name: namespace[name] for name in names if namespace.get(name)} or None


def person_namespace(person, context: dict) -> dict:
    """What a template variable of a message to `person` may name: the message's context,
    the person, and their names."""
    return {
        "first_name": first_name(person.full_name),
        "full_name": person.full_name,
        "person": person,
        **context,
    }


def _lookup(namespace: dict, name: str):
    """`name` in the message's context: "points", or an attribute path ("claim.serial")."""
    head, *path = name.split(".")
    value = namespace.get(head)
    for attribute in path:
        if value is None or attribute.startswith("_"):
            return None
        value = value.get(attribute) if isinstance(value, dict) else getattr(value, attribute, None)
    return value


def _as_text(value) -> str | None:
    if value is None or callable(value):
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal | float):
        return format_number(value)
    if isinstance(value, datetime | date):
        return format_date(value, "medium")
    if isinstance(value, str):
        return value
    return None


def template_values(names, namespace: dict, language: str) -> dict[str, str] | None:
    """The named values as text in `language` (numbers and days formatted for it); names the
    context does not hold are left out. None when no name is asked for."""
    if not names:
        return None
    with force_locale(language):
        values = {name: _as_text(_lookup(namespace, name)) for name in sorted(names)}
    return {name: text.strip()[:1000] for name, text in values.items() if text and text.strip()}


# ---------------------------------------------------------------- the decision


@dataclass(frozen=True)
class Route:
    """How a WhatsApp message goes: free text, by template, or (neither) by the next channel."""

    free_text: bool
    #: Set when it goes by template.
    template: ContentTemplate | None = None
    variables: str | None = None
    #: For the outbox note: the window, and why the message goes as it does.
    note: str = ""

    @property
    def possible(self) -> bool:
        return self.free_text or self.template is not None


def _window_note(closes: datetime | None, now: datetime) -> str:
    if closes is None:
        return "window never opened"
    verb = "open until" if closes > now else "closed since"
    return f"window {verb} {closes:%Y-%m-%d %H:%M} UTC"


def route(
    session: Session, message: OutboxMessage, language: str, now: datetime, *, closed=False
) -> Route:
    """How `message` (WhatsApp) goes now to a person reading `language`. `closed`: WhatsApp
    itself said the window is closed, whatever we recorded."""
    closes = None if closed else window_closes_at(session, message.person_id)
    if closes is not None and closes > now:
        template = quick_reply_template(session, message.kind, language)
    else:
        template = approved_template(session, message.kind, language)
    return decide(
        message.kind,
        language,
        message.template_values,
        now=now,
        closes=closes,
        template=template,
        closed=closed,
    )


def decide(kind, language, values, *, now, closes, template, closed=False) -> Route:
    """The decision itself, on what is known: when the window closes (None: never opened),
    the template for the kind and language (inside the window a quick-reply one, else an
    approved one; None: none), the message's values. Campaign previews make it for many
    people at once."""
    window = "window closed (WhatsApp said so)" if closed else _window_note(closes, now)
    inside = not closed and closes is not None and closes > now
    if template is None:
        if inside:
            return Route(free_text=True, note=f"{window}: free text")
        language = primary_language(language)
        return Route(False, note=f"{window}, no approved template for {kind} in {language}")
    variables, problem = _variables(template, values or {})
    if problem and inside:  # the buttons need values it lacks: the text goes as it is
        return Route(free_text=True, note=f"{window}: free text ({problem})")
    if problem:
        return Route(False, note=f"{window}, {problem}")
    how = "buttons" if inside else "template"
    return Route(
        False,
        template=template,
        variables=variables,
        note=f"{window}: {how} {template.content_sid}",
    )


def _variables(template: ContentTemplate, values: dict) -> tuple[str | None, str | None]:
    """(ContentVariables as JSON, None), or (None, what is wrong)."""
    names = template.variables or []
    if not all(names):
        return None, f"template {template.content_sid}: variables unnamed"
    missing = [name for name in names if not values.get(name)]
    if missing:
        return None, f"template {template.content_sid} lacks {', '.join(missing)}"
    variables = {str(place): values[name] for place, name in enumerate(names, 1)}
    return (json.dumps(variables, ensure_ascii=False) if variables else None), None
