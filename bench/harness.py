"""What every benchmark does the same way: its header (time, load, code, command), a world in
a throwaway database, and the floor of its work (COPY of the very rows the product wrote).

The floor: the product runs in a transaction and flushes; every row it inserted (ids above
those the world held) is read back; the transaction is rolled back; the same rows, ids and
all, are written again by `core.bulk` (COPY on PostgreSQL, one executemany per table on
SQLite) into the same tables (same indexes, constraints, foreign keys and triggers) and
flushed; rolled back again. Rows the product updates in place are left out of the floor.
"""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Integer, func, select, text

from app import create_app
from bench.databases import throwaway_database
from bench.world import SIZES, BenchWorld, build_world
from core.bulk import BulkWriter
from core.cli import upgrade_database
from core.db import Base

ROOT = Path(__file__).resolve().parent.parent

FLOOR = {
    "postgresql": "COPY (core.bulk) of every row the product inserted, ids and all, into the "
    "same tables of the same database, in one transaction (rolled back)",
    "sqlite": "one transaction of executemany (core.bulk) of every row the product inserted, "
    "ids and all, into the same tables of the same database (rolled back)",
}


def load() -> tuple[float, ...]:
    return tuple(round(x, 2) for x in os.getloadavg())


def header(name: str) -> list[str]:
    """The first lines of a bench's output: when, the machine's load, the code, the command."""
    code = subprocess.run(  # noqa: S603 - a fixed command: which commit was measured
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return [
        f"# {name} — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {load()}",
        f"code: {code}",
        f"command: {' '.join(sys.argv[1:])}",
    ]


class Output:
    """Lines printed as they come and kept for `--results`."""

    def __init__(self, name: str):
        self.lines: list[str] = []
        self.add(*header(name))

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)
        print(*lines, sep="\n", flush=True)

    def finish(self, results: str | None) -> None:
        self.add(f"load average after: {load()}")
        keep(results, self.lines)


def keep(results: str | None, lines: list[str]) -> None:
    """Put a run's `lines` at the top of `results` (a file of bench/results/), above the runs
    it kept before: newest first, none lost."""
    if not results:
        return
    path = Path(results)
    before = path.read_text() if path.exists() else ""
    path.write_text("\n".join(lines) + "\n" + ("\n" + before if before else ""))


@contextmanager
def world_app(
    kind: str, size: str, config: dict | None = None, **overrides
) -> Iterator[tuple[object, BenchWorld]]:
    """(app, world) on a new database of `kind`, the world of `size` (with `overrides`, see
    `build_world`) built in it; the app configured for tests and `config`."""
    with throwaway_database(kind) as url:
        upgrade_database(url)
        app = create_app(
            {"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url, **(config or {})}
        )
        try:
            yield app, build_world(app, SIZES[size], **overrides)
        finally:
            app.extensions["partnerlift.engine"].dispose()


def id_tables():
    return [
        table
        for table in Base.metadata.sorted_tables
        if "id" in table.c and table.c.id.primary_key and isinstance(table.c.id.type, Integer)
    ]


def highest_ids(db) -> dict[str, int]:
    """Each table's highest id now: what the product writes next lies above."""
    return {t.name: db.scalar(select(func.coalesce(func.max(t.c.id), 0))) for t in id_tables()}


def rows_written(db, highest: dict[str, int]) -> list[tuple]:
    """(table, rows) of every row inserted since `highest`, in the order foreign keys need."""
    written = []
    for table in id_tables():
        rows = db.execute(
            select(table).where(table.c.id > highest[table.name]).order_by(table.c.id)
        ).all()
        if rows:
            written.append((table, rows))
    return written


def copy_seconds(db, written: list[tuple]) -> float:
    """Seconds to write `written` again by core.bulk, flushed, then rolled back."""
    return _copy(db, written)[0]


def _copy(db, written: list[tuple]) -> tuple[float, float | None]:
    db.rollback()
    cpu = CpuClock(db)
    writer = BulkWriter(db)
    started = time.perf_counter()
    for table, rows in written:
        writer.insert_values(table, [c.name for c in table.columns], rows)
    db.flush()
    seconds = time.perf_counter() - started
    used = cpu.used()
    db.rollback()
    return seconds, used


class CpuClock:
    """CPU seconds used by this process and by the session's PostgreSQL backend, from now:
    other jobs on a shared machine stretch wall-clock time from run to run, CPU time much
    less. None when the database is not a PostgreSQL on this machine."""

    def __init__(self, db):
        self.pid = None
        if db.get_bind().dialect.name == "postgresql":
            self.pid = db.scalar(text("SELECT pg_backend_pid()"))
        self.start = self._now()

    def _now(self) -> float | None:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, TypeError):
            return None
        return time.process_time() + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def used(self) -> float | None:
        now = self._now()
        return None if now is None or self.start is None else now - self.start


def describe_rows(written: list[tuple]) -> str:
    return ", ".join(f"{table.name} {len(rows)}" for table, rows in written)


@dataclass
class Measured:
    """The product's work and its floor."""

    seconds: float
    result: object
    written: list[tuple]
    floor: float
    #: CPU seconds of this process and its PostgreSQL backend (None elsewhere).
    cpu: float | None = None
    floor_cpu: float | None = None

    @property
    def rows(self) -> int:
        return sum(len(rows) for _, rows in self.written)

    def lines(self, kind: str, what: str) -> list[str]:
        return [
            f"{kind}: rows written: {describe_rows(self.written)}",
            f"{kind}: {what:8} {self.seconds:8.2f} s",
            f"{kind}: floor    {self.floor:8.2f} s  for the same {self.rows} rows",
            f"{kind}: ratio {what} / floor  {self.seconds / self.floor:6.2f}x",
        ] + (
            [
                f"{kind}: CPU seconds (this process and its PostgreSQL backend): {what} "
                f"{self.cpu:.2f}, floor {self.floor_cpu:.2f}, "
                f"ratio {self.cpu / self.floor_cpu:.2f}x"
            ]
            if self.cpu is not None and self.floor_cpu
            else []
        )


def measure(db, work: Callable[[], object], *, warm_up: bool = True) -> Measured:
    """`work()` timed (flushed, not committed) and its floor, each rolled back after; run
    once before, unmeasured, if `warm_up` (templates compiled, statements cached, as in a
    running app)."""
    if warm_up:
        work()
        db.rollback()
    highest = highest_ids(db)
    db.rollback()
    cpu = CpuClock(db)
    started = time.perf_counter()
    result = work()
    db.flush()
    seconds = time.perf_counter() - started
    used = cpu.used()
    written = rows_written(db, highest)
    floor, floor_cpu = _copy(db, written)
    return Measured(seconds, result, written, floor, used, floor_cpu)
