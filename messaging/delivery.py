"""Delivery of pending outbox rows through a transport: which are due, whether each may go
now (consent, quiet hours, the weekly cap), and what the provider answered.

A message is claimed, sent and its outcome recorded; see `lease_due` for what a crash of a
worker between those steps repeats (at most the message the provider had just taken).
"""

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Integer, bindparam, func, literal, literal_column, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.db import UTCDateTime, utcnow
from messaging.models import (
    ChannelBlock,
    ChannelConsent,
    MessageCategory,
    MessageChannel,
    OutboxMessage,
    OutboxStatus,
)
from messaging.outbox import fall_back, record_permanent_failure, record_window_closed
from messaging.pacing import Pacer
from messaging.policy import PHONE_CHANNELS, Policy, cap_until, quiet_until
from messaging.transports import PermanentFailure, TransientFailure, Transport, WindowClosed
from messaging.whatsapp import route
from roles.models import Person


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """Exponential backoff with full jitter: up to 2^attempts × 5 s, at most an hour."""
    ceiling = min(5 * 2**attempts, 3600)
    return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


def _claim_due(
    session: Session, now, limit: int = 1
) -> list[tuple[OutboxMessage, str | None, str | None]]:
    """The next messages due, locked so other workers skip them (SKIP LOCKED on PostgreSQL),
    each with why its channel may not be used for its person (opted out, failed for good)
    and the person's zone (for quiet hours), read in the same statement."""
    stmt = _due(now, limit, OutboxMessage, func.coalesce(_opted_out, _blocked), _zone)
    if session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=OutboxMessage)
    return [(row[0], row[1], row[2]) for row in session.execute(stmt)]


_opted_out = (
    select(literal("opted out"))
    .where(
        ChannelConsent.person_id == OutboxMessage.person_id,
        ChannelConsent.channel == OutboxMessage.channel,
        ChannelConsent.opted_out.is_(True),
    )
    .scalar_subquery()
)
_zone = select(Person.timezone).where(Person.id == OutboxMessage.person_id).scalar_subquery()
_blocked = (
    select(literal("error ") + ChannelBlock.error_code)
    .where(
        ChannelBlock.person_id == OutboxMessage.person_id,
        ChannelBlock.channel == OutboxMessage.channel,
    )
    .scalar_subquery()
)


def _wait_until(session: Session, message: OutboxMessage, zone, policy: Policy, now):
    """(when, why) if the message must wait: the recipient's night (in `zone`, theirs) or
    their weekly cap."""
    if message.category == MessageCategory.CRITICAL or message.person_id is None:
        return None, None
    if message.channel in PHONE_CHANNELS and policy.quiet_start is not None:
        until = quiet_until(policy, now, zone)
        if until is not None:
            return until, "quiet hours"
    if message.category == MessageCategory.NUDGE:
        until = cap_until(session, policy, message, now)
        if until is not None:
            return until, "weekly nudge cap"
    return None, None


def _ready(session: Session, claim, policy: Policy, now) -> bool:
    """Whether a claimed (message, refused, zone) goes now. One that must wait (quiet hours, weekly cap) gets a later
    `next_attempt_at` and stays pending; one for a channel the person opted out of or that
    failed for good is not sent there but falls back to their next channel. A nudge that
    could only go after its lifetime (an offer that ran out, a cap full for the week) is
    dropped instead: late news is worse than none."""
    message, refused, zone = claim
    until, why = _wait_until(session, message, zone, policy, now)
    if policy.nudge_outlived(message, until or now):
        hours = int(policy.nudge_lifetime.total_seconds() // 3600)
        message.status, message.last_error = OutboxStatus.FAILED, "expired"
        message.note = (
            f"not sent: the {why} would hold it past its {hours}-hour lifetime"
            if why
            else f"not sent: still unsent at the end of its {hours}-hour lifetime"
        )
        return False
    if until is not None:
        message.next_attempt_at = until
        message.note = f"{why}: waits until {until:%Y-%m-%d %H:%M} UTC"
        return False
    if refused:
        message.status = OutboxStatus.FAILED
        fall_back(session, message, refused)
        return False
    if message.channel == MessageChannel.WHATSAPP and not _whatsapp_route(session, message, now):
        return False
    message.attempts += 1
    return True


def _whatsapp_route(session: Session, message: OutboxMessage, now) -> bool:
    """Free text inside the person's window, else an approved template; with neither, the
    message goes by the person's next channel (this message only: nothing is blocked). A
    message already given a template (a retry after WhatsApp said the window was closed)
    keeps it."""
    if message.content_sid or message.person_id is None:
        return True
    person = session.get(Person, message.person_id)
    if person is None:
        return True
    chosen = route(session, message, person.language, now)
    message.note = chosen.note[:255]
    if chosen.template is not None:
        message.content_sid, message.content_variables = (
            chosen.template.content_sid,
            chosen.variables,
        )
    if not chosen.possible:
        message.status = OutboxStatus.FAILED
        fall_back(session, message, chosen.note)
    return chosen.possible


def send_one(transport: Transport, message) -> tuple[str, object]:
    """("sent", (provider id, status)), ("transient", code) or ("permanent", code)."""
    try:
        return "sent", transport.send(message)
    except TransientFailure as failure:
        return "transient", failure.code
    except WindowClosed as failure:
        return "window", failure.code
    except PermanentFailure as failure:
        return "permanent", failure.code


def record_outcome(session, message, outcome, *, max_attempts: int, rng=None) -> str:
    """Write what the provider said about `message` (a row or an `InFlight` copy of one);
    returns its new status. The caller commits at once: until then a crash repeats it."""
    kind, value = outcome
    if kind in ("permanent", "window"):
        row = session.get(OutboxMessage, message.id)
        if kind == "window":
            record_window_closed(session, row, value, now=utcnow())
        else:
            record_permanent_failure(session, row, value)
        session.flush()
        return OutboxStatus.FAILED
    now = utcnow()
    if kind == "sent":
        provider_id, provider_status = value
        values = {
            "status": OutboxStatus.SENT,
            "provider_id": provider_id,
            "provider_status": provider_status,
            "sent_at": now,
            "status_at": now,
            "last_error": None,
            "next_attempt_at": None,
        }
    elif message.attempts >= max_attempts:
        values = {"status": OutboxStatus.FAILED, "last_error": value[:255]}
    else:
        retry = now + backoff(message.attempts, rng or random.Random())
        values = {"last_error": value[:255], "next_attempt_at": retry}
    if isinstance(message, OutboxMessage):
        for name, value in values.items():
            setattr(message, name, value)
    elif isinstance(session, OutcomeWriter):
        session.write(message.id, values)
    else:  # a leased copy: one plain UPDATE, built once, no unit of work
        session.execute(_OUTCOME_UPDATES[frozenset(values)], {**values, "message_id": message.id})
    return values.get("status", OutboxStatus.PENDING)


def _outcome_update(*columns: str):
    table = OutboxMessage.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("message_id"))
        .values({name: bindparam(name, type_=table.c[name].type) for name in columns})
    )


_OUTCOME_COLUMNS = (
    (
        "status",
        "provider_id",
        "provider_status",
        "sent_at",
        "status_at",
        "last_error",
        "next_attempt_at",
    ),
    ("status", "last_error"),
    ("last_error", "next_attempt_at"),
)
_OUTCOME_UPDATES = {frozenset(columns): _outcome_update(*columns) for columns in _OUTCOME_COLUMNS}


class OutcomeWriter:
    """Writes leased messages' outcomes for one worker thread: each one UPDATE, compiled
    once for the database, run on the thread's own driver connection in autocommit.

    So an outcome costs one statement and one round trip, and none of SQLAlchemy's work per
    execution (cache lookup, events, result set). The guarantee is the one `record_outcome`
    states: the UPDATE is committed when `write` returns, before the thread sends its next
    message. The values are converted by the columns' own types, as SQLAlchemy would."""

    def __init__(self, connection: Connection):
        dialect, driver = connection.dialect, connection.connection.dbapi_connection
        if dialect.name == "postgresql" and not driver.autocommit:
            raise ValueError("outcomes on PostgreSQL are written in autocommit")
        # SQLite: `core.db` leaves pysqlite's own transactions off, so a lone UPDATE commits.
        self.cursor = driver.cursor()
        #: The connection, for `lease_due`'s one-statement lease on PostgreSQL.
        self.connection = connection
        table = OutboxMessage.__table__
        self.statements = {}
        for columns in _OUTCOME_COLUMNS:
            compiled = _outcome_update(*columns).compile(dialect=dialect)
            convert = {name: table.c[name].type.bind_processor(dialect) for name in columns}
            order = tuple(compiled.positiontup) if compiled.positional else None
            self.statements[frozenset(columns)] = (
                compiled.string,
                order,
                {name: f for name, f in convert.items() if f is not None},
            )

    def write(self, message_id: int, values: dict) -> None:
        sql, order, convert = self.statements[frozenset(values)]
        params = {**values, "message_id": message_id}
        for name, to_database in convert.items():
            params[name] = to_database(params[name])
        self.cursor.execute(sql, tuple(params[name] for name in order) if order else params)

    def close(self) -> None:
        self.cursor.close()


def deliver_next(
    session: Session,
    transport: Transport,
    *,
    now,
    max_attempts: int = 8,
    rng: random.Random | None = None,
    policy: Policy | None = None,
    pacer: Pacer | None = None,
) -> OutboxMessage | None:
    """Send the next due message within the caller's transaction (which commits at once);
    returns it, sent, failed or waiting, or None when nothing is due."""
    claimed = _claim_due(session, now)
    if not claimed:
        return None
    message = claimed[0][0]
    if _ready(session, claimed[0], policy or Policy(), now):
        if pacer is not None:
            pacer.wait(message)
        outcome = send_one(transport, message)
        record_outcome(session, message, outcome, max_attempts=max_attempts, rng=rng)
    session.flush()
    return message


@dataclass(frozen=True)
class InFlight:
    """A leased message as the transports need it, detached from any session."""

    id: int
    person_id: int | None
    channel: str
    recipient: str
    kind: str
    subject: str | None
    body: str
    segments: int
    attempts: int
    content_sid: str | None = None
    content_variables: str | None = None

    @classmethod
    def of(cls, message: OutboxMessage) -> "InFlight":
        return cls(**{name: getattr(message, name) for name in cls.__dataclass_fields__})


def lease_due(
    session: Session,
    *,
    now,
    policy: Policy,
    lease: timedelta,
    limit: int,
    autocommit: Connection | None = None,
) -> tuple[list[InFlight], int]:
    """Take up to `limit` due messages in one short transaction: each one that goes now is
    leased (due again only when the lease runs out, should this worker die). Returns those
    and how many messages were handled in all (waiting and fallen-back ones included).

    The claim reads plain rows; a message that goes as it is (the usual case) is leased with
    the others in one UPDATE, and only one with something to write (a wait, a fallback, a
    WhatsApp route) is loaded as an object and goes through `_ready`. On PostgreSQL, given a
    connection in `autocommit`, the claim and the lease are one statement (one round trip
    instead of BEGIN, SELECT, UPDATE, COMMIT): every row claimed is leased, and one that
    turns out to need `_ready` has its lease undone in the session first, so it is decided
    exactly as if it had only been read. A crash between the two leaves it leased, as any
    message whose worker died: due again when the lease runs out.

    The provider is called outside any transaction and each outcome is committed on its
    own right after, so a crash repeats at most the message the provider had just taken."""
    until = now + lease
    leased = autocommit is not None and autocommit.dialect.name == "postgresql"
    if leased:
        claimed = autocommit.execute(
            _CLAIM_AND_LEASE, {"now": now, "limit": limit, "until": until}
        ).all()
        claimed.sort(key=lambda row: (-row.priority, row.id))  # RETURNING keeps no order
    else:
        connection = session.connection()  # plain rows: no ORM execution for the usual case
        claimed = connection.execute(
            _LEASES[connection.dialect.name == "postgresql"], {"now": now, "limit": limit}
        ).all()
    flights, as_is = [], []
    for row in claimed:
        if _goes_as_is(session, row, row.refused, row.zone, policy, now):
            fields = {name: getattr(row, name) for name in _IN_FLIGHT}
            fields["attempts"] += 0 if leased else 1  # RETURNING gave the count after
            flights.append(InFlight(**fields))
            as_is.append(row.id)
            continue
        # Read afresh: the session may hold the row as an earlier lease left it.
        message = session.get(OutboxMessage, row.id, populate_existing=True)
        if leased:
            message.attempts, message.next_attempt_at = row.attempts - 1, row.was_due_at
        if _ready(session, (message, row.refused, row.zone), policy, now):
            message.next_attempt_at = until
            flights.append(InFlight.of(message))
    if as_is and not leased:
        connection.execute(_LEASE_UPDATE, {"ids": as_is, "until": until})
    session.commit()
    return flights, len(claimed)


def _due(now, limit: int, *columns):
    return select(*columns).where(*_is_due(now)).order_by(*_QUEUE_ORDER).limit(limit)


def _is_due(now):
    """Pending and due at `now` (a value or a bound parameter). The condition of
    `ix_outbox_messages_due` is written out, not a bound parameter, so that both databases
    see that the partial index holds every row the query may take, and walk it."""
    return (
        literal_column("outbox_messages.status = 'pending'"),
        OutboxMessage.next_attempt_at.is_(None) | (OutboxMessage.next_attempt_at <= now),
    )


#: The order the worker takes messages in, that of `ix_outbox_messages_due`.
_QUEUE_ORDER = (OutboxMessage.priority.desc(), OutboxMessage.id)


#: What a leased message is read as: the transports' fields, then what `_ready` decides by.
_IN_FLIGHT = tuple(InFlight.__dataclass_fields__)
_LEASE_NAMES = (*_IN_FLIGHT, "category", "created_at")
_LEASE_COLUMNS = tuple(OutboxMessage.__table__.c[name] for name in _LEASE_NAMES)


#: With each claimed row: why its channel may not be used, and the person's zone.
_CLAIM_EXTRAS = (func.coalesce(_opted_out, _blocked).label("refused"), _zone.label("zone"))


def _due_now(*columns):
    """Due rows at the bound `now`, at most `limit`, in the queue's order."""
    return (
        select(*columns)
        .where(*_is_due(bindparam("now", type_=UTCDateTime())))
        .order_by(*_QUEUE_ORDER)
        .limit(bindparam("limit", type_=Integer()))
    )


def _lease_select(postgresql: bool):
    """The lease's claim, built once; locked so other workers skip them (SKIP LOCKED) on
    PostgreSQL."""
    stmt = _due_now(*_LEASE_COLUMNS, *_CLAIM_EXTRAS)
    if postgresql:
        stmt = stmt.with_for_update(skip_locked=True, of=OutboxMessage.__table__)
    return stmt


_LEASES = {postgresql: _lease_select(postgresql) for postgresql in (False, True)}
_OUTBOX = OutboxMessage.__table__
_LEASE_UPDATE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        attempts=_OUTBOX.c.attempts + 1, next_attempt_at=bindparam("until", type_=UTCDateTime())
    )
)
#: PostgreSQL, in autocommit: claim (SKIP LOCKED) and lease in one statement, returning what
#: the claim reads with the count after and when each row was due (to undo a lease).
_claimed = (
    _due_now(_OUTBOX.c.id, _OUTBOX.c.next_attempt_at.label("was_due_at"))
    .with_for_update(skip_locked=True, of=_OUTBOX)
    .cte("claimed")
)
_CLAIM_AND_LEASE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == _claimed.c.id)
    .values(
        attempts=_OUTBOX.c.attempts + 1, next_attempt_at=bindparam("until", type_=UTCDateTime())
    )
    .returning(*_LEASE_COLUMNS, _OUTBOX.c.priority, *_CLAIM_EXTRAS, _claimed.c.was_due_at)
)


def _goes_as_is(session: Session, row, refused, zone, policy: Policy, now) -> bool:
    """Whether a claimed row goes now with nothing to write but its lease: the cases in
    which `_ready` would only count the attempt."""
    if refused or (
        row.channel == MessageChannel.WHATSAPP and row.person_id and not row.content_sid
    ):
        return False
    until, _ = _wait_until(session, row, zone, policy, now)
    return until is None and not policy.nudge_outlived(row, now)
