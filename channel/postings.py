"""The ledger's one write path: postings of balanced lines, idempotent, never overdrawing.

`post` writes all lines of a posting under one idempotency key, or none: it moves each
account's balance with a conditional UPDATE (`available + delta >= 0`), so concurrent
debits serialise on the balance row and can never overdraw it; the same key again returns
the original lines and writes nothing, and the same key with other content is refused.

`post_many` writes many new postings at once (an import's awards): their lines through the
driver in bulk (`core.bulk`: COPY on PostgreSQL), each account's balance moved once for the
whole call by the same conditional UPDATE. Its keys are new by construction (they name rows
the caller has just allocated), so it reads nothing first: a key already used breaks the
unique (posting_key, line) key and the call writes nothing, for its caller to post one by one.
"""

from collections import defaultdict, namedtuple
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import ARRAY, BigInteger, String, bindparam, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channel.ledger import Balance, Bucket, LedgerEntry
from channel.person_months import PersonMonthSums, PostedLine, add_posted
from channel.rollups import RollupLine, add_to_rollups
from core.bulk import BulkWriter, in_values
from core.db import utcnow
from core.months import month_key


class PostingError(Exception):
    """A posting cannot be written; nothing of it was."""


class InsufficientPoints(PostingError):
    def __init__(self, account_key: str, bucket: str):
        super().__init__(f"{account_key} has too few {bucket} points")
        self.account_key = account_key
        self.bucket = bucket


class IdempotencyConflict(PostingError):
    """The key was already used for a posting with other content."""


def person_account(person_id: int) -> str:
    return f"person:{person_id}"


def pool_account(partner_id: int) -> str:
    return f"pool:{partner_id}"


@dataclass
class Line:
    account: str
    points: int
    kind: str
    partner_id: int
    bucket: str = Bucket.AVAILABLE
    memo: str | None = None
    refers_to_id: int | None = None
    available_at: datetime | None = None
    program_id: int | None = None
    person_id: int | None = None
    to_pool: bool = False
    budget_points: int = 0
    money: Decimal | None = None
    discount_percent: Decimal | None = None
    activity_id: int | None = None
    scheme_id: int | None = None
    rule_id: int | None = None
    rule_kind: str | None = None
    once_key: str | None = None
    reason: dict = field(default_factory=dict)
    month: str | None = None

    def signature(self) -> tuple:
        return (self.account, self.bucket, self.kind, self.points, self.refers_to_id)


def _signature(entry: LedgerEntry) -> tuple:
    return (entry.account_key, entry.bucket, entry.kind, entry.points, entry.refers_to_id)


def _existing(session: Session, key: str) -> list[LedgerEntry]:
    return list(
        session.scalars(
            select(LedgerEntry).where(LedgerEntry.posting_key == key).order_by(LedgerEntry.line)
        )
    )


def _replay(existing: list[LedgerEntry], lines: list[Line], key: str) -> list[LedgerEntry]:
    if [_signature(e) for e in existing] != [line.signature() for line in lines]:
        raise IdempotencyConflict(f"the key {key!r} was used for a different posting")
    return existing


def _moved(session: Session, account: str, bucket: str, delta: int) -> bool:
    """Move the balance row by `delta` unless that would take it below zero; False if not."""
    column = getattr(Balance, bucket)
    return bool(
        session.execute(
            update(Balance)
            .where(Balance.account_key == account, column + delta >= 0)
            .values({bucket: column + delta})
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def _move(session: Session, account: str, bucket: str, delta: int) -> None:
    if delta == 0:
        return
    for _attempt in range(3):
        if _moved(session, account, bucket, delta):
            return
        if delta < 0:
            raise InsufficientPoints(account, bucket)
        # A credit to an account with no balance row yet (or one created meanwhile).
        if session.scalar(select(Balance.id).where(Balance.account_key == account)) is None:
            try:
                with session.begin_nested():
                    session.add(Balance(account_key=account, pending=0, available=0))
            except IntegrityError:
                pass  # created meanwhile by a concurrent posting
    raise PostingError(f"could not credit {account}")


def post(session: Session, key: str, lines: list[Line]) -> list[LedgerEntry]:
    """Write `lines` as one posting under idempotency `key`; all of it, or nothing."""
    existing = _existing(session, key)
    if existing:
        return _replay(existing, lines, key)
    if not lines:
        return []
    now = utcnow()
    try:
        with session.begin_nested():
            totals: dict[tuple[str, str], int] = {}
            for line in lines:
                totals[(line.account, line.bucket)] = (
                    totals.get((line.account, line.bucket), 0) + line.points
                )
            # Credits first, so a posting that moves points within one account never fails.
            for (account, bucket), delta in sorted(totals.items(), key=lambda item: -item[1]):
                _move(session, account, bucket, delta)
            entries = [_entry(key, number, line, now) for number, line in enumerate(lines)]
            session.add_all(entries)
            session.flush()
            add_to_rollups(session, (_rollup_line(line, now) for line in lines))
            add_posted(
                session.execute, _dialect(session), (_posted_line(line, now) for line in lines)
            )
    except IntegrityError:
        existing = _existing(session, key)
        if existing:  # the same key, written concurrently: answer with what was written
            return _replay(existing, lines, key)
        raise
    return entries


def _rollup_line(line: Line, now: datetime, times: int = 1) -> RollupLine:
    """What a line adds to the rollups: it counts in the month it is written."""
    month = month_key(now)
    return (
        month,
        line.kind,
        line.program_id,
        line.partner_id,
        line.points,
        line.budget_points,
        times,
    )


def _posted_line(line: Line, now: datetime, times: int = 1) -> PostedLine:
    """What a line adds to the people's months (`channel.person_months`)."""
    return (
        month_key(now),
        line.month or month_key(now),
        line.kind,
        line.program_id,
        line.partner_id,
        line.person_id,
        line.to_pool,
        line.points,
        times,
    )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _entry(key: str, number: int, line: Line, now: datetime) -> LedgerEntry:
    month = line.month or month_key(now)
    return LedgerEntry(
        created_at=now,
        posting_key=key,
        line=number,
        account_key=line.account,
        bucket=line.bucket,
        kind=line.kind,
        points=line.points,
        memo=line.memo,
        refers_to_id=line.refers_to_id,
        available_at=line.available_at,
        program_id=line.program_id,
        partner_id=line.partner_id,
        person_id=line.person_id,
        to_pool=line.to_pool,
        budget_points=line.budget_points,
        money=line.money,
        discount_percent=line.discount_percent,
        activity_id=line.activity_id,
        scheme_id=line.scheme_id,
        rule_id=line.rule_id,
        rule_kind=line.rule_kind,
        once_key=line.once_key,
        reason=line.reason,
        month=month,
    )


#: The columns of a bulk-written ledger row, in the order `post_many` writes and returns them.
ENTRY_COLUMNS = (
    "posting_key",
    "activity_id",
    "line",
    "created_at",
    "account_key",
    "bucket",
    "kind",
    "points",
    "memo",
    "refers_to_id",
    "available_at",
    "program_id",
    "partner_id",
    "person_id",
    "to_pool",
    "budget_points",
    "money",
    "discount_percent",
    "scheme_id",
    "rule_id",
    "rule_kind",
    "once_key",
    "reason",
    "month",
)
#: A bulk-written ledger row read by name.
EntryRow = namedtuple("EntryRow", ENTRY_COLUMNS)


class Posting(NamedTuple):
    """One posting for `post_many`: its idempotency key and lines.

    With `activity_id`, every line is the activity's whatever its own `activity_id` says, so
    alike postings (the same award for many sales) can share one list of lines, which is
    then converted for the driver once.
    """

    key: str
    lines: Sequence[Line]
    activity_id: int | None = None


class Deferred:
    """What several `post_many` calls leave for their caller to write once, in the same
    transaction: the balance moves (summed by account and bucket) and what the lines add to the
    people's months. An import gathers its chunks' in one and writes it after the last chunk,
    so each account and each person's month is written once per file instead of once per
    chunk. The moves are checked as they are written (`_move_all`): a debit beyond a balance
    raises `InsufficientPoints` then."""

    def __init__(self):
        self.moves: dict[tuple[str, str], int] = defaultdict(int)
        self.person_months = PersonMonthSums()

    def merge(self, other: "Deferred") -> None:
        for account_bucket, points in other.moves.items():
            self.moves[account_bucket] += points
        self.person_months.merge(other.person_months)

    def write(self, session: Session) -> None:
        """Write it all, and start again from nothing."""
        _move_all(session, self.moves)
        self.moves.clear()
        self.person_months.write(session.execute, _dialect(session))


def post_many(
    session: Session, postings: Iterable[Posting], *, deferred: Deferred | None = None
) -> list[tuple]:
    """Write many new postings at once, all of them or none; returns the rows written (driver
    values in ENTRY_COLUMNS order).

    The balances and the people's months (`channel.person_months`) move at once, or, given
    `deferred`, are added up there for the caller to write (once for many calls).

    Each account's balance moves once for the whole call (or for all of `deferred`'s calls),
    by the conditional UPDATE `post` uses, in account order: a debit beyond a balance raises
    `InsufficientPoints` (from `deferred.write`, if deferred). A key already used raises
    `IntegrityError`; either way nothing of the call is written.
    """
    with session.begin_nested():
        # Made inside the savepoint: the session opens it on its connection only when asked
        # for that connection, and rows the writer wrote before would outlive a rollback.
        writer = BulkWriter(session)
        prepared = prepare_postings(writer, postings)
        write_postings(session, writer, prepared)
        if deferred is None:
            prepared.deferred.write(session)
    if deferred is not None:  # only once written: a call that fails adds nothing to it
        deferred.merge(prepared.deferred)
    return prepared.rows


class PreparedPostings(NamedTuple):
    """Postings made ready to write, with no database work: their ledger rows (driver values
    in ENTRY_COLUMNS order), what they add to the monthly rollups, and their balance moves
    and people's months (`Deferred`)."""

    rows: list[tuple]
    rollups: list[RollupLine]
    deferred: Deferred


def prepare_postings(writer: BulkWriter, postings: Iterable[Posting]) -> PreparedPostings:
    """The rows and sums of `postings`, computed without the database (`writer` only converts
    values), so that they can be computed while other rows are being written."""
    now = utcnow()
    convert = _Conversions.of(writer, now)
    rows: list[tuple] = []
    deferred = Deferred()
    deltas = deferred.moves
    #: id of a list of lines -> (the list, kept so its id stays its own; rows; moves)
    converted: dict[int, tuple] = {}
    #: id of a list of lines -> how many postings use it
    uses: dict[int, int] = defaultdict(int)
    for key, lines, activity_id in postings:
        found = converted.get(id(lines))
        if found is None:
            found = converted[id(lines)] = (lines, *_driver_rows(convert, lines, now))
        _, tails, moves = found
        uses[id(lines)] += 1
        if activity_id is None:
            rows += [
                (key, line.activity_id, *tail) for line, tail in zip(lines, tails, strict=True)
            ]
        else:
            rows += [(key, activity_id, *tail) for tail in tails]
        for account_bucket, points in moves:
            deltas[account_bucket] += points
    rollups = [
        _rollup_line(line, now, uses[list_id])
        for list_id, (lines, _tails, _moves) in converted.items()
        for line in lines
    ]
    deferred.person_months.add_posted(
        _posted_line(line, now, uses[list_id])
        for list_id, (lines, _tails, _moves) in converted.items()
        for line in lines
    )
    return PreparedPostings(rows, rollups, deferred)


def write_postings(session: Session, writer: BulkWriter, prepared: PreparedPostings) -> None:
    """Write prepared postings' ledger rows and count them in the monthly rollups, in the
    caller's transaction (its balances and people's months are the caller's to write)."""
    if prepared.rows:
        writer.insert(LedgerEntry.__table__, ENTRY_COLUMNS, prepared.rows)
        add_to_rollups(session, prepared.rollups)


class _Conversions(NamedTuple):
    """The ledger's values as the driver takes them: `created_at` converted, and each other
    column's conversion looked up once (None: its values are taken as they are)."""

    created_at: object
    available_at: object
    to_pool: object
    money: object
    discount_percent: object
    reason: object

    @classmethod
    def of(cls, writer: BulkWriter, now: datetime) -> "_Conversions":
        column = LedgerEntry.__table__.c
        return cls(
            writer.value(column.created_at, now),
            *map(writer.processor, (column[name] for name in cls._fields[1:])),
        )


def _driver(process, value):
    return value if process is None or value is None else process(value)


def _driver_rows(convert: _Conversions, lines: Sequence[Line], now: datetime):
    """The lines as driver values from `line` on (ENTRY_COLUMNS[2:]), and the moves they make."""
    rows, moves = [], []
    for number, line in enumerate(lines):
        moves.append(((line.account, line.bucket), line.points))
        rows.append(
            (
                number,
                convert.created_at,
                line.account,
                line.bucket,
                line.kind,
                line.points,
                line.memo,
                line.refers_to_id,
                _driver(convert.available_at, line.available_at),
                line.program_id,
                line.partner_id,
                line.person_id,
                _driver(convert.to_pool, line.to_pool),
                line.budget_points,
                _driver(convert.money, line.money),
                _driver(convert.discount_percent, line.discount_percent),
                line.scheme_id,
                line.rule_id,
                line.rule_kind,
                line.once_key,
                _driver(convert.reason, line.reason),
                line.month or month_key(now),
            )
        )
    return rows, moves


#: Accounts moved by one UPDATE: three bind values each, well under SQLite's 32,766.
MOVES_PER_STATEMENT = 5000


def _move_all(session: Session, deltas: dict[tuple[str, str], int]) -> None:
    """Move every account's balance at once: one UPDATE … FROM (VALUES …) for the lot.

    The rows are locked first in account order (PostgreSQL), the order `post` takes them
    one by one, so two imports crediting the same people cannot deadlock; rows missing are
    created in one insert. The UPDATE keeps `_moved`'s guarantee: a row moves only if
    neither bucket goes below zero, and an account left out raises InsufficientPoints.
    """
    moves: dict[str, list[int]] = {}
    for (account, bucket), delta in deltas.items():
        if delta:
            moves.setdefault(account, [0, 0])[0 if bucket == Bucket.PENDING else 1] += delta
    moves = {account: move for account, move in moves.items() if any(move)}
    if not moves:
        return
    accounts = sorted(moves)
    known_query = select(Balance.account_key).where(
        in_values(session, Balance.account_key, accounts)
    )
    if session.bind.dialect.name == "postgresql":
        known_query = known_query.order_by(Balance.account_key).with_for_update()
    missing = sorted(set(accounts) - set(session.scalars(known_query)))
    if missing:
        session.execute(
            Balance.__table__.insert(),
            [{"account_key": a, "pending": 0, "available": 0} for a in missing],
        )
    for start in range(0, len(accounts), MOVES_PER_STATEMENT):
        part = accounts[start : start + MOVES_PER_STATEMENT]
        moved = _moved_all(session, [(a, *moves[a]) for a in part])
        left_out = [a for a in part if a not in moved]
        if left_out:
            account = left_out[0]
            pending, available = moves[account]
            bucket = Bucket.PENDING if pending < 0 else Bucket.AVAILABLE
            if pending < 0 and available < 0:
                held = balance_of(session, account)
                bucket = Bucket.PENDING if held[0] + pending < 0 else Bucket.AVAILABLE
            raise InsufficientPoints(account, bucket)


#: One UPDATE for many accounts, from VALUES rows (SQLite) or unnest of three arrays
#: (PostgreSQL), whose columns are named column1… (SQLite takes no column list after the
#: alias: PostgreSQL gets one); the CASTs type the binds. Only bind names (":a0, :p0, :v0",
#: …) are formatted into {rows}, never values.
MOVE_BALANCES = (
    "UPDATE balances SET pending = balances.pending + CAST(v.column2 AS BIGINT), "
    "available = balances.available + CAST(v.column3 AS BIGINT) "
    "FROM ({rows}) AS v "
    "WHERE balances.account_key = CAST(v.column1 AS VARCHAR) "
    "AND balances.pending + CAST(v.column2 AS BIGINT) >= 0 "
    "AND balances.available + CAST(v.column3 AS BIGINT) >= 0 "
    "RETURNING balances.account_key"
)
UNNEST_MOVES = "SELECT * FROM unnest(:a, :p, :v) AS u(column1, column2, column3)"


def _moved_all(session: Session, moves: list[tuple[str, int, int]]) -> set[str]:
    """Apply (account, pending delta, available delta) rows in one statement; the accounts
    moved (those whose buckets all stay at or above zero). PostgreSQL takes the rows as
    three arrays, so the statement is the same short text for five accounts or 5,000."""
    if session.get_bind().dialect.name == "postgresql":
        statement = text(MOVE_BALANCES.format(rows=UNNEST_MOVES)).bindparams(
            bindparam("a", [m[0] for m in moves], type_=ARRAY(String)),
            bindparam("p", [m[1] for m in moves], type_=ARRAY(BigInteger)),
            bindparam("v", [m[2] for m in moves], type_=ARRAY(BigInteger)),
        )
        return set(session.scalars(statement))
    values, params = [], {}
    for number, (account, pending, available) in enumerate(moves):
        values.append(f"(:a{number}, :p{number}, :v{number})")
        params |= {f"a{number}": account, f"p{number}": pending, f"v{number}": available}
    statement = text(MOVE_BALANCES.format(rows="VALUES " + ", ".join(values)))
    return set(session.scalars(statement, params))


def balance_of(session: Session, account: str) -> tuple[int, int]:
    """(pending, available) of an account, from its balance row."""
    return balances_of(session, [account])[account]


def balances_of(session: Session, accounts) -> dict[str, tuple[int, int]]:
    """`balance_of` many accounts in one look-up: {account: (pending, available)}."""
    balances = dict.fromkeys(accounts, (0, 0))
    if balances:
        rows = session.execute(
            select(Balance.account_key, Balance.pending, Balance.available).where(
                in_values(session, Balance.account_key, sorted(balances))
            )
        )
        balances.update((account, (pending, available)) for account, pending, available in rows)
    return balances


def check_balances(session: Session) -> list[tuple[str, tuple[int, int], tuple[int, int]]]:
    """Accounts whose balance row differs from the sum of their entries: (account, row, sums)."""
    sums: dict[str, list[int]] = {}
    for account, bucket, total in session.execute(
        select(LedgerEntry.account_key, LedgerEntry.bucket, func.sum(LedgerEntry.points)).group_by(
            LedgerEntry.account_key, LedgerEntry.bucket
        )
    ):
        sums.setdefault(account, [0, 0])[0 if bucket == Bucket.PENDING else 1] = int(total or 0)
    rows = {b.account_key: (b.pending, b.available) for b in session.scalars(select(Balance))}
    wrong = []
    for account in sorted(set(sums) | set(rows)):
        derived = tuple(sums.get(account, [0, 0]))
        stored = rows.get(account, (0, 0))
        if derived != stored:
            wrong.append((account, stored, derived))
    return wrong
