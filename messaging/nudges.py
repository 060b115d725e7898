"""Triggered nudges: which triggers each program has on, and each occasion sent once.

Every trigger message goes through `send_once`: it records the occasion (so an event seen
twice, or the daily command run twice, sends nothing more), keeps the control group out
(`messaging.holdout`), and writes the message through `compose.notify`, whose outbox rows
the worker sends under the person's consent, quiet hours, weekly cap and channel fallback.
"""

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.bulk import in_values, insert_new
from core.db import utcnow
from core.errors import InvalidInput
from messaging.compose import Rendered, render_each
from messaging.holdout import held_out_among
from messaging.models import (
    MessageCategory,
    MessageChannel,
    Tip,
    Trigger,
    TriggerDelivery,
    TriggerSetting,
)
from messaging.outbox import enqueue_many
from messaging.policy import address, unusable_channels_among, usable_channels
from messaging.whatsapp import person_namespace, template_values, variable_names

#: Days for the triggers that count them: reminder after, inactive for, expiring within.
DEFAULT_DAYS = {Trigger.APPROVAL_REQUEST: 3, Trigger.INACTIVE: 14, Trigger.EXPIRING: 30}
#: Answers to what the person did or must decide: never held out, not counted as nudges.
TRANSACTIONAL = frozenset({Trigger.CLAIM_DECIDED, Trigger.APPROVAL_REQUEST})
MAX_DAYS = 365


def source_of(trigger: str) -> str:
    return f"trigger:{trigger}"


@dataclass(frozen=True)
class TriggerChoice:
    enabled: bool
    days: int | None


def program_triggers(session: Session, program_id: int) -> dict[str, TriggerChoice]:
    """Each trigger as the program set it; a trigger it never set is on, with default days."""
    rows = {
        row.trigger: row
        for row in session.scalars(
            select(TriggerSetting).where(TriggerSetting.program_id == program_id)
        )
    }
    choices = {}
    for trigger in Trigger:
        row = rows.get(trigger)
        days = (row.days if row else None) or DEFAULT_DAYS.get(trigger)
        choices[trigger] = TriggerChoice(row.enabled if row else True, days)
    return choices


def enabled_in(session: Session, trigger: str, program_ids) -> bool:
    """On if any of the programs has it on; with no program to ask, on."""
    ids = set(program_ids)
    return not ids or bool(ids - switched_off(session, trigger, ids))


def switched_off(session: Session, trigger: str, program_ids) -> set[int]:
    """The programs among `program_ids` that switched `trigger` off."""
    ids = sorted(set(program_ids))
    if not ids:
        return set()
    return set(
        session.scalars(
            select(TriggerSetting.program_id).where(
                TriggerSetting.program_id.in_(ids),
                TriggerSetting.trigger == trigger,
                TriggerSetting.enabled.is_(False),
            )
        )
    )


def save_triggers(session: Session, program_id: int, choices: dict[str, TriggerChoice]) -> None:
    """Set the program's triggers; days only for the triggers that count them.

    Refuses with InvalidInput: days out of range under "days_<trigger>", as the page names
    them, an unknown trigger under its own name."""
    errors = {}
    for trigger, choice in choices.items():
        if trigger not in set(Trigger):
            errors[trigger] = _l("Unknown trigger.")
        elif (
            trigger in DEFAULT_DAYS and choice.days is not None and not 0 < choice.days <= MAX_DAYS
        ):
            errors[f"days_{trigger}"] = lazy_ngettext(
                "Between 1 and %(num)s day.", "Between 1 and %(num)s days.", MAX_DAYS
            )
    if errors:
        raise InvalidInput(errors)
    rows = {
        row.trigger: row
        for row in session.scalars(
            select(TriggerSetting).where(TriggerSetting.program_id == program_id)
        )
    }
    for trigger, choice in choices.items():
        row = rows.get(trigger)
        if row is None:
            row = TriggerSetting(program_id=program_id, trigger=trigger)
            session.add(row)
        row.enabled = choice.enabled
        row.days = choice.days if trigger in DEFAULT_DAYS else None
    session.flush()


@dataclass(frozen=True)
class Nudge:
    """One person's message for one occasion of a trigger, as `send_to_each` takes it."""

    person: object
    occasion: str
    program_id: int | None = None
    #: Channels to write it on; None: the person's first usable channel.
    channels: tuple[str, ...] | None = None
    tip: Tip | None = None
    context: dict = field(default_factory=dict)
    #: Its SMS text, when the caller already rendered it from this very context and tip.
    sms: Rendered | None = None


def send_once(
    session: Session,
    person,
    trigger: str,
    kind: str,
    *,
    occasion: str,
    program_id: int | None = None,
    channels: list[str] | None = None,
    tip: Tip | None = None,
    **context,
) -> list[int]:
    """Message `person` for this occasion of `trigger`, unless already done or held out.

    Returns the ids of the outbox rows written: none when the occasion was already
    recorded, the person is inactive or in the trigger's control group, or no channel
    reaches them.
    """
    nudge = Nudge(person, occasion, program_id, tuple(channels) if channels else None, tip, context)
    return send_to_each(session, trigger, kind, [nudge])


#: People a round of `send_to_each` statements covers.
CHUNK = 1000


def send_to_each(session: Session, trigger: str, kind: str, nudges: list[Nudge]) -> list[int]:
    """`send_once` for many people (an import's sellers): the same checks and rows, in a
    fixed number of statements for each chunk of people, however many there are.

    Each occasion is recorded by INSERT … ON CONFLICT DO NOTHING on its unique key, so one
    recorded before, or meanwhile by a concurrent transaction, sends nothing here. Returns
    the ids of the outbox rows written.
    """
    ids = []
    for start in range(0, len(nudges), CHUNK):
        ids += _send_chunk(session, trigger, kind, nudges[start : start + CHUNK])
    return ids


def _send_chunk(session: Session, trigger: str, kind: str, nudges: list[Nudge]) -> list[int]:
    wanted: dict[tuple[int, str], Nudge] = {}
    for nudge in nudges:
        if nudge.person.active:
            wanted.setdefault((nudge.person.id, nudge.occasion[:100]), nudge)
    if not wanted:
        return []
    table = TriggerDelivery.__table__
    # No look-up of the occasions already recorded: the insert below leaves them out. The
    # draw may then cover someone it will not message; a draw is theirs for good either way.
    held_out = set()
    if trigger not in TRANSACTIONAL:
        held_out = held_out_among(
            session,
            source_of(trigger),
            [person_id for person_id, _ in wanted],
            holdout_percent=current_app.config["NUDGE_HOLDOUT_PERCENT"],
        )
    now = utcnow()
    deliveries = [
        {
            "trigger": trigger,
            "person_id": person_id,
            "occasion": occasion,
            "program_id": nudge.program_id,
            "held_out": person_id in held_out,
            "tip_id": nudge.tip.id if nudge.tip and person_id not in held_out else None,
            "at": now,
        }
        for (person_id, occasion), nudge in wanted.items()
    ]
    written = {
        tuple(key)
        for key in insert_new(session, table, deliveries, [table.c.person_id, table.c.occasion])
    }
    to_send = [
        nudge for key, nudge in wanted.items() if key in written and nudge.person.id not in held_out
    ]
    return _write_messages(session, trigger, kind, to_send, now)


def _write_messages(session: Session, trigger: str, kind: str, nudges: list[Nudge], now):
    """The outbox rows of `nudges`, as `compose.notify` writes one, in one insert."""
    if not nudges:
        return []
    category = MessageCategory.TRANSACTIONAL if trigger in TRANSACTIONAL else MessageCategory.NUDGE
    unusable = unusable_channels_among(
        session, [nudge.person.id for nudge in nudges if nudge.channels is None]
    )
    messages = []  # (nudge, channel, context), in the order of the rows
    for nudge in nudges:
        person = nudge.person
        channels = (
            nudge.channels or usable_channels(session, person, unusable.get(person.id, {}))[:1]
        )
        messages += [(nudge, channel, {"tip": nudge.tip, **nudge.context}) for channel in channels]
    texts: dict[int, Rendered] = {}
    for channel in dict.fromkeys(channel for _, channel, _ in messages):
        to_render = [
            index
            for index, (nudge, on, _) in enumerate(messages)
            if on == channel and (channel != MessageChannel.SMS or nudge.sms is None)
        ]
        found = render_each(
            kind, channel, [(messages[i][0].person, messages[i][2]) for i in to_render]
        )
        texts.update(zip(to_render, found, strict=True))
    names = None
    rows = []
    for index, (nudge, channel, context) in enumerate(messages):
        person = nudge.person
        rendered = texts.get(index) or nudge.sms
        values = None
        if channel == MessageChannel.WHATSAPP:  # for a template, should the window be closed
            names = variable_names(session, kind) if names is None else names
            values = template_values(names, person_namespace(person, context), person.language)
        rows.append(
            {
                "person_id": person.id,
                "channel": channel,
                "recipient": address(person, channel),
                "kind": kind,
                "subject": rendered.subject,
                "body": rendered.body,
                "category": category,
                "source": source_of(trigger),
                "template_values": values,
            }
        )
    return enqueue_many(session, rows, now=now, with_ids=True)


def choose_tip(session: Session, person, product_group_id: int | None) -> Tip | None:
    """A tip on the product group in the person's language (else English; else a general
    one), never the one they got last time when there is another."""
    return choose_tips(session, [person], product_group_id)[person.id]


def choose_tips(session: Session, people, product_group_id: int | None) -> dict[int, Tip | None]:
    """`choose_tip` for many people at once: {person id: tip or None}."""
    people = list(people)
    if not people:
        return {}
    latest = (
        select(func.max(TriggerDelivery.id))
        .where(
            TriggerDelivery.tip_id.is_not(None),
            in_values(session, TriggerDelivery.person_id, sorted({p.id for p in people})),
        )
        .group_by(TriggerDelivery.person_id)
    )
    last = dict(
        session.execute(
            select(TriggerDelivery.person_id, TriggerDelivery.tip_id).where(
                TriggerDelivery.id.in_(latest)
            )
        ).all()
    )
    languages = sorted({p.language for p in people} | {"en"})
    groups = [Tip.product_group_id.is_(None)]
    if product_group_id is not None:
        groups.append(Tip.product_group_id == product_group_id)
    tips: dict[tuple[int | None, str], list[Tip]] = {}
    for tip in session.scalars(
        select(Tip).where(or_(*groups), Tip.language.in_(languages)).order_by(Tip.id)
    ):
        tips.setdefault((tip.product_group_id, tip.language), []).append(tip)
    return {
        person.id: _next_tip(tips, person.language, product_group_id, last.get(person.id))
        for person in people
    }


def _next_tip(tips, language: str, product_group_id: int | None, last: int | None) -> Tip | None:
    for group_id in dict.fromkeys((product_group_id, None)):
        for choice in dict.fromkeys((language, "en")):
            found = tips.get((group_id, choice))
            if found:
                # Round robin: the next one after the last received, so it changes each time.
                return next((t for t in found if last is not None and t.id > last), found[0])
    return None


def link(endpoint: str, **values) -> str:
    """An address for messages, always under PUBLIC_URL: never the request's host, which
    whoever sends the request chooses."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path
