"""Writing many rows at once straight through the driver: executemany on SQLite, COPY on PostgreSQL.

For imports whose rows are known up front. Ids are allocated before the rows are written, so
nothing is read back; values are converted by the columns' own SQLAlchemy types, so they are
stored exactly as an ORM or Core insert would store them. A constraint the rows break raises
SQLAlchemy's `IntegrityError`, as a Core insert would.
"""

import gc
import json
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from sqlalchemy import (
    ARRAY,
    JSON,
    Column,
    Integer,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    func,
    select,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


def in_values(bind, column: Column, values: list):
    """`column IN values` for thousands of values: on PostgreSQL one array parameter
    (`= ANY(:values)`), since thousands of IN parameters cost more to build and parse than
    the look-up itself; elsewhere a plain IN."""
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    if dialect.name == "postgresql":
        return column == any_(bindparam("values", values, type_=ARRAY(column.type), unique=True))
    return column.in_(values)


def insert_unnested(table: Table, rows: list[dict]):
    """PostgreSQL's INSERT of `rows` (dicts with the same keys) into `table`, one array
    parameter a column (`INSERT … SELECT … FROM unnest(:a, :b, …)`), ready for an ON
    CONFLICT clause: the statement's text stays the same size however many rows it carries,
    so the driver and the server parse it once, where a VALUES list of thousands of rows
    costs more to build and parse than the work itself."""
    from sqlalchemy.dialects.postgresql import insert

    columns = [table.c[name] for name in rows[0]]
    arrays = [_array(column, [row[column.name] for row in rows]) for column in columns]
    source = (
        func.unnest(*arrays).table_valued(*(column.name for column in columns)).render_derived()
    )
    return insert(table).from_select([column.name for column in columns], select(*source.c))


def _array(column: Column, values: list):
    """`values` as one array parameter for `column`. Whole numbers go as the text of the
    array (`{1,2,NULL}`, cast by the server): the driver's array dumper checks and converts
    each element in Python, about three times the cost (0.2 s against 0.07 s for a file's
    20,000 people's months, 7 columns of numbers)."""
    if isinstance(column.type, Integer) and set(map(type, values)) <= {int, type(None)}:
        if None in values:
            text = ",".join("NULL" if v is None else str(v) for v in values)
        else:
            text = ",".join(map(str, values))
        return cast(bindparam(f"v_{column.name}", f"{{{text}}}", type_=Text), ARRAY(column.type))
    return bindparam(f"v_{column.name}", values, type_=ARRAY(column.type))


def insert_new(session: Session, table: Table, rows: list[dict], returning: Sequence[Column]):
    """Insert `rows`, leaving out any a unique key already holds (written earlier, or meanwhile
    by a concurrent transaction, which this one waits for): INSERT … ON CONFLICT DO NOTHING,
    in as few statements as the driver takes (PostgreSQL: one, the rows as arrays). Returns
    `returning` of the rows written."""
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        statement = insert_unnested(table, rows).on_conflict_do_nothing().returning(*returning)
        return session.execute(statement).all()
    from sqlalchemy.dialects.sqlite import insert

    statement = insert(table).on_conflict_do_nothing().returning(*returning)
    return session.execute(statement, rows).all()


class BulkWriter:
    """Rows for the tables of one session's transaction, through its own connection."""

    def __init__(self, session: Session):
        self.connection = session.connection()
        self.dialect = self.connection.dialect
        self._processors: dict[tuple[str, str], object] = {}
        self._sequences: dict[str, str] = {}

    def value(self, column: Column, value):
        """`value` as the driver takes it for `column` (a date, a timestamp, JSON…)."""
        process = self.processor(column)
        return value if process is None or value is None else process(value)

    def processor(self, column: Column):
        """What turns a value (not None) for `column` into the driver's; None if nothing does.
        For a loop over many rows, where `value`'s look-up each time would cost more than
        most conversions."""
        key = (column.table.name, column.name)
        if key not in self._processors:
            if isinstance(column.type, JSON):
                # As text, which both drivers take (psycopg's Json wrapper would be dumped
                # again for every row); json.dumps is SQLAlchemy's default serializer.
                self._processors[key] = json.dumps
            else:
                impl = column.type.dialect_impl(self.dialect)
                self._processors[key] = impl.bind_processor(self.dialect)
        return self._processors[key]

    def existing(self, column: Column, values: list) -> set:
        """Which of `values` `column` already holds (a unique key, say)."""
        condition = in_values(self.connection, column, values)
        return set(self.connection.scalars(select(column).where(condition)))

    def next_ids(self, table: Table, count: int) -> list[int]:
        """`count` new primary keys of `table`, reserved for this transaction's rows."""
        if not count:
            return []
        cursor = self.connection.connection.driver_connection.cursor()
        try:
            with _as_sqlalchemy_errors(self.dialect, "nextval"):
                if self.dialect.name == "postgresql":
                    # The sequence's name is looked up once: in the select list it would be looked
                    # up again for every row, at several times the cost of nextval itself.
                    if table.name not in self._sequences:
                        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table.name,))
                        self._sequences[table.name] = cursor.fetchone()[0]
                    # Only the first and the last id come back when the ids drawn follow on (no
                    # other transaction drew from the sequence meanwhile): they are then exactly
                    # the range between. Otherwise all of them come back.
                    cursor.execute(
                        "SELECT min(id), max(id),"
                        " CASE WHEN max(id) - min(id) = count(*) - 1 THEN NULL ELSE array_agg(id) END"
                        " FROM (SELECT nextval(%s::regclass) AS id FROM generate_series(1, %s)) AS ids",
                        (self._sequences[table.name], count),
                    )
                    first, last, scattered = cursor.fetchone()
                    return list(range(first, last + 1)) if scattered is None else scattered
                # SQLite: every transaction here holds the write lock (BEGIN IMMEDIATE), so no
                # other connection can take these ids before this transaction ends.
                top = self.connection.scalar(select(func.coalesce(func.max(table.c.id), 0)))
                return list(range(top + 1, top + 1 + count))
        finally:
            cursor.close()

    def insert_values(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Iterable[tuple],
        constants: dict[str, object] | None = None,
    ) -> None:
        """`insert` of rows of plain Python values, converted by their columns' types (only
        where a type converts at all: most pass their values to the driver as they are).
        `constants` are columns every row shares (a timestamp): converted once, then added to
        each row."""
        # (index, conversion, [the last value, what it became]): a batch's rows mostly repeat
        # their neighbours' dates, converted once each. Not for JSON or arrays, whose values
        # can change without becoming another object.
        converted = []
        for index, name in enumerate(columns):
            column = table.c[name]
            if isinstance(column.type, JSON):
                converted.append((index, json.dumps, None))
            elif process := column.type.dialect_impl(self.dialect).bind_processor(self.dialect):
                mutable = isinstance(column.type, ARRAY)
                converted.append((index, process, None if mutable else [None, None]))
        tail = tuple(self.value(table.c[name], value) for name, value in (constants or {}).items())
        columns = (*columns, *(constants or {}))

        def convert(row):
            row = list(row)
            for index, process, last in converted:
                value = row[index]
                if value is None:
                    continue
                if last is None:
                    row[index] = process(value)
                    continue
                if value is not last[0]:
                    last[0], last[1] = value, process(value)
                row[index] = last[1]
            return (*row, *tail)

        if converted:
            rows = map(convert, rows)
        elif tail:
            rows = (row + tail for row in rows)
        self.insert(table, columns, rows)

    def insert(self, table: Table, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        """Write `rows` (tuples of driver values in the order of `columns`) into `table`."""
        if self.dialect.name == "postgresql":
            from psycopg import sql

            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
            )
        else:
            # Built by hand: SQLAlchemy would put the columns in the table's order, not the
            # rows'. The names come from the table's metadata, quoted by the dialect.
            quote = self.dialect.identifier_preparer.quote
            names = ", ".join(quote(table.c[name].name) for name in columns)
            marks = ", ".join("?" for _ in columns)
            statement = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608
        cursor = self.connection.connection.driver_connection.cursor()
        try:
            with _as_sqlalchemy_errors(self.dialect, statement):
                if self.dialect.name == "postgresql":
                    with cursor.copy(statement) as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    cursor.executemany(statement, rows)
        finally:
            cursor.close()


@contextmanager
def _as_sqlalchemy_errors(dialect, statement):
    """The driver's errors on a raw cursor raised as SQLAlchemy's, as from a statement sent
    through SQLAlchemy: a key already used as `IntegrityError`, a connection lost as
    `OperationalError` (which the app answers with a 503, not a 500)."""
    dbapi = dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as error:
        raise DBAPIError.instance(str(statement), None, error, dbapi.Error) from error


class WritesBehind:
    """One batch's writes at a time, on a thread of their own on PostgreSQL, so that the
    caller checks its next batch while the database takes this one (run inline on SQLite,
    whose connections stay on their thread).

    The session's connection belongs to the running writes until `wait()` returns: the
    caller touches no database in between. A failed write is raised again by the next
    `wait()`, inline too; leaving the `with` block waits for the writes in flight, so nothing
    still writes when the caller rolls back.
    """

    def __init__(self, session: Session):
        #: Whether writes run at once, in the caller's thread (SQLite).
        self.inline = session.get_bind().dialect.name != "postgresql"
        self._pool = None if self.inline else ThreadPoolExecutor(1, "writes-behind")
        self._running: Future | None = None
        self._failed: BaseException | None = None

    def run(self, write: Callable[[], None]) -> None:
        self.wait()
        if not self.inline:
            self._running = self._pool.submit(write)
            return
        try:
            write()
        except Exception as error:  # noqa: BLE001 - raised again by wait(), as from a thread
            self._failed = error

    def wait(self) -> None:
        running, self._running = self._running, None
        failed, self._failed = self._failed, None
        if failed is not None:
            raise failed
        if running is not None:
            running.result()

    def __enter__(self):
        if not self.inline:
            _quick_switches.enter()
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
        finally:
            if not self.inline:
                _quick_switches.exit()
        if exc_info[0] is None:
            self.wait()


class _WhileAnyInside:
    """A process-wide setting made when the first caller comes in and undone when the last
    one leaves, whatever the threads: `begin` makes it and returns the setting before, which
    `end` puts back. Used as `with setting():`, or by `enter` and `exit`."""

    def __init__(self, begin: Callable[[], object], end: Callable[[object], None]):
        self._begin, self._end = begin, end
        self._lock = threading.Lock()
        self._inside = 0
        self._before = None

    def enter(self) -> None:
        with self._lock:
            if not self._inside:
                self._before = self._begin()
            self._inside += 1

    def exit(self) -> None:
        with self._lock:
            self._inside -= 1
            if not self._inside:
                self._end(self._before)

    @contextmanager
    def __call__(self) -> Iterator[None]:
        self.enter()
        try:
            yield
        finally:
            self.exit()


def _switch_quickly() -> float:
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(0.001, before))
    return before


#: While any writes run behind, the interpreter passes between threads every millisecond
#: instead of every five (`sys.setswitchinterval`). The writing thread spends most of its time
#: waiting for the database; each time it is answered it must wait for the computing thread to
#: give up the interpreter, up to one switch interval. At the default 5 ms those waits made the
#: sell-out import of 100,000 lines about 4 s slower (about 29 s against 25 s, side by side:
#: bench/results/sales_import.md).
_quick_switches = _WhileAnyInside(_switch_quickly, sys.setswitchinterval)


def _pause_collector() -> bool:
    was_on = gc.isenabled()
    gc.disable()
    return was_on


def _resume_collector(was_on: bool) -> None:
    if was_on:
        gc.enable()


#: Work that builds many rows in memory at once (a chunk of an import) runs with Python's
#: cyclic garbage collector paused: each object it makes counts towards the next collection,
#: and as the rows pile up the collector ran again and again over the whole heap, a quarter
#: of the sell-out import's time (about 6 s of 25 for 100,000 lines; bench/results/
#: sales_import.md). Reference counting still frees everything as usual; cycles made
#: meanwhile wait for the next collection, which comes as soon as it is back on. Process-wide,
#: so keep it to bounded steps of work.
collections_paused = _WhileAnyInside(_pause_collector, _resume_collector)
