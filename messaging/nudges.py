"""Triggered nudges: which triggers each program has on, and each occasion sent once.

Every trigger message goes through `send_once`: it records the occasion (so an event seen
twice, or the daily command run twice, sends nothing more), keeps the control group out
(`messaging.holdout`), and writes the message through `compose.notify`, whose outbox rows
the worker sends under the person's consent, quiet hours, weekly cap and channel fallback.
"""

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import InvalidInput
from messaging.compose import notify
from messaging.holdout import is_held_out
from messaging.models import MessageCategory, Tip, Trigger, TriggerDelivery, TriggerSetting

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
    if not ids:
        return True
    off = set(
        session.scalars(
            select(TriggerSetting.program_id).where(
                TriggerSetting.program_id.in_(ids),
                TriggerSetting.trigger == trigger,
                TriggerSetting.enabled.is_(False),
            )
        )
    )
    return bool(ids - off)


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


def already_sent(session: Session, trigger: str, person_id: int, occasion: str) -> bool:
    return (
        session.scalar(
            select(TriggerDelivery.id).where(
                TriggerDelivery.trigger == trigger,
                TriggerDelivery.person_id == person_id,
                TriggerDelivery.occasion == occasion,
            )
        )
        is not None
    )


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
) -> list:
    """Message `person` for this occasion of `trigger`, unless already done or held out.

    Returns the outbox rows written: none when the occasion was already recorded, the
    person is inactive or in the trigger's control group, or no channel reaches them.
    """
    if not person.active or already_sent(session, trigger, person.id, occasion):
        return []
    held_out = trigger not in TRANSACTIONAL and is_held_out(
        session,
        source_of(trigger),
        person.id,
        holdout_percent=current_app.config["NUDGE_HOLDOUT_PERCENT"],
    )
    delivery = TriggerDelivery(
        trigger=trigger,
        person_id=person.id,
        occasion=occasion[:100],
        program_id=program_id,
        held_out=held_out,
        tip_id=tip.id if tip and not held_out else None,
        at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(delivery)
            session.flush()
    except IntegrityError:  # recorded meanwhile by a concurrent transaction
        return []
    if held_out:
        return []
    category = MessageCategory.TRANSACTIONAL if trigger in TRANSACTIONAL else MessageCategory.NUDGE
    messages = []
    for channel in channels or [None]:
        message = notify(
            session,
            person,
            kind,
            category=category,
            channel=channel,
            source=source_of(trigger),
            tip=tip,
            **context,
        )
        if message is not None:
            messages.append(message)
    return messages


def choose_tip(session: Session, person, product_group_id: int | None) -> Tip | None:
    """A tip on the product group in the person's language (else English; else a general
    one), never the one they got last time when there is another."""
    last = session.scalar(
        select(TriggerDelivery.tip_id)
        .where(TriggerDelivery.person_id == person.id, TriggerDelivery.tip_id.is_not(None))
        .order_by(TriggerDelivery.id.desc())
        .limit(1)
    )
    for group_id in dict.fromkeys((product_group_id, None)):
        for language in dict.fromkeys((person.language, "en")):
            group = (
                Tip.product_group_id.is_(None)
                if group_id is None
                else (Tip.product_group_id == group_id)
            )
            tips = session.scalars(
                select(Tip).where(group, Tip.language == language).order_by(Tip.id)
            ).all()
            if tips:
                # Round robin: the next one after the last received, so it changes each time.
                return next((t for t in tips if last is not None and t.id > last), tips[0])
    return None


def link(endpoint: str, **values) -> str:
    """An address for messages, always under PUBLIC_URL: never the request's host, which
    whoever sends the request chooses."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path
