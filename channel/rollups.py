"""The ledger's monthly rollups and running budget totals: written with each posting, checked.

`channel.postings` calls `add_to_rollups` in the posting's own savepoint with the lines it
writes: each (month, kind, program, partner) row and each program's budget total moves by an
additive upsert (`INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x`), so two concurrent
postings to the same row both count. `check_rollups` recomputes both from the ledger and
lists every difference (`flask ledger check`); `rollup_sql` is the recomputation, shared with
the migration that backfills them.
"""

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from channel.ledger import LedgerEntry, LedgerMonth, ProgramBudgetUse
from core.bulk import insert_unnested

#: `LedgerMonth.program_id` of entries that name no program.
NO_PROGRAM = 0

#: Lines as the rollups count them: (month, kind, program_id, partner_id, points,
#: budget_points, how many such lines).
RollupLine = tuple[str, str, int | None, int, int, int, int]


def add_up(run, dialect: str, table, rows: list[dict], keys: list[str], sums: list[str]) -> None:
    """Add `rows`' `sums` to `table`'s rows with the same `keys`, inserting those missing, by
    `run` (a session's or a connection's `execute`): concurrent additions both count."""
    if dialect == "postgresql":  # one statement however many rows: they go in it as arrays
        stmt, params = insert_unnested(table, rows), None
    else:
        stmt, params = sqlite.insert(table), rows
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={name: getattr(table.c, name) + getattr(stmt.excluded, name) for name in sums},
    )
    run(stmt, params)


def add_to_rollups(session: Session, lines: Iterable[RollupLine]) -> None:
    """Count `lines` in the monthly rollups and the programs' budget totals (in key order, so
    concurrent postings take the rows' locks in one order)."""
    dialect = session.get_bind().dialect.name
    months: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    budgets: dict[int, int] = defaultdict(int)
    for month, kind, program_id, partner_id, points, budget_points, times in lines:
        total = months[(month, str(kind), program_id or NO_PROGRAM, partner_id)]
        total[0] += points * times
        total[1] += budget_points * times
        total[2] += times
        if program_id is not None and budget_points:
            budgets[program_id] += budget_points * times
    if months:
        rows = [
            dict(zip(("month", "kind", "program_id", "partner_id"), key, strict=True))
            | {"points": p, "budget_points": b, "lines": n}
            for key, (p, b, n) in sorted(months.items())
        ]
        add_up(
            session.execute,
            dialect,
            LedgerMonth.__table__,
            rows,
            ["month", "kind", "program_id", "partner_id"],
            ["points", "budget_points", "lines"],
        )
    if budgets:
        rows = [{"program_id": p, "budget_points": b} for p, b in sorted(budgets.items())]
        add_up(
            session.execute,
            dialect,
            ProgramBudgetUse.__table__,
            rows,
            ["program_id"],
            ["budget_points"],
        )


def created_month(dialect: str, column=LedgerEntry.created_at):
    """SQL for the UTC month ("2026-11") of a stored UTC timestamp."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.substr(column, 1, 7)  # SQLite stores UTC text, "2026-11-30 23:59:59…"


def rollup_sql(dialect: str, entries=LedgerEntry.__table__):
    """The monthly rollups recomputed from `entries`, as `LedgerMonth` columns."""
    c = entries.c
    month = created_month(dialect, c.created_at).label("month")
    program = func.coalesce(c.program_id, NO_PROGRAM).label("program_id")
    return select(
        month,
        c.kind,
        program,
        c.partner_id,
        func.sum(c.points).label("points"),
        func.sum(c.budget_points).label("budget_points"),
        func.count().label("lines"),
    ).group_by(month, c.kind, program, c.partner_id)


def budget_sql(entries=LedgerEntry.__table__):
    """The programs' budget totals recomputed from `entries`, as `ProgramBudgetUse` columns."""
    c = entries.c
    return (
        select(c.program_id, func.sum(c.budget_points).label("budget_points"))
        .where(c.program_id.is_not(None))
        .group_by(c.program_id)
        .having(func.sum(c.budget_points) != literal_column("0"))
    )


def check_rollups(session: Session) -> list[str]:
    """Every way the rollups and budget totals differ from the ledger, one line each."""
    dialect = session.get_bind().dialect.name
    derived = {
        (r.month, r.kind, r.program_id, r.partner_id): (r.points, r.budget_points, r.lines)
        for r in session.execute(rollup_sql(dialect))
    }
    stored = {
        (r.month, r.kind, r.program_id, r.partner_id): (r.points, r.budget_points, r.lines)
        for r in session.scalars(select(LedgerMonth))
    }
    wrong = [
        f"rollup {key}: stored {stored.get(key, (0, 0, 0))}, ledger {derived.get(key, (0, 0, 0))}"
        for key in sorted(set(derived) | set(stored))
        if tuple(map(int, stored.get(key, (0, 0, 0))))
        != tuple(map(int, derived.get(key, (0, 0, 0))))
    ]
    budgets = {r.program_id: int(r.budget_points) for r in session.execute(budget_sql())}
    kept = {r.program_id: r.budget_points for r in session.scalars(select(ProgramBudgetUse))}
    wrong += [
        f"program {program} budget used: stored {kept.get(program, 0)}, ledger {budgets.get(program, 0)}"
        for program in sorted(set(budgets) | set(kept))
        if kept.get(program, 0) != budgets.get(program, 0)
    ]
    return wrong
