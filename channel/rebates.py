"""What the partner company earns on what it buys: rebates accrued from purchase lines as
they arrive, and paid by closing a period into one statement per program and partner.

Design:
- The company rules of a program as the partner approved it (`volume_rebate`,
  `cumulative_discount`, `first_order_discount`) apply to the partner's purchase lines, each
  converted to the program's currency at its invoice date (`channel.exchange_rates`). A line
  whose currency has no rate for its date is held, with the reason, and paid at a later close
  once the rate is there: never converted at a guess.
- A volume rebate pays the percent of the partner's tier on the line's date (tier changes
  are dated, so crossing a threshold mid-quarter changes the rate from that day). A cumulative
  discount pays the percent of the step the period's purchases had reached before the line.
  A first-order discount pays on the lines of the partner's first invoice.
- Accrual is computed, not stored: what a period has earned so far is always what a close
  would pay now. A close writes the statement and its lines; each purchase line is paid once
  per program and rule (a unique key), so a credit note imported after its period was closed
  is paid, negative, at the next close, shown there as a true-up of its own period.
- On PostgreSQL the close of each program is one set-based statement computed in the
  database (`channel.rebate_sql`, exact numeric arithmetic, the same rules); on SQLite,
  whose decimals are floats, the accrual runs here and its lines go in by bulk insert.
- Closing twice pays once: one statement per program, partner and period (a unique key),
  and a close first takes a lock on its period (`core.db.lock_keys`), so a second close
  waits and then finds the statements written.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.exchange_rates import NoRate, RateBook
from channel.models import Program, ProgramStatus
from channel.partner_models import PartnerOrganization
from channel.purchases import PurchaseLine
from channel.rebate_accrual import LINE_COLUMNS, accrue_many, approved_rules
from channel.rebate_models import InvalidPeriod, RebateLine, RebateStatement, period_bounds
from channel.rebate_sql import ClosedProgram, close_program
from core.bulk import BulkWriter, in_values
from core.db import lock_keys, utcnow


@dataclass
class CloseReport:
    statements: list[RebateStatement] = field(default_factory=list)
    #: Statements of this period written by an earlier close.
    already_closed: int = 0
    #: (partner, purchase line, why) for lines held back by a missing rate.
    held: list[tuple[PartnerOrganization, object, str]] = field(default_factory=list)


def close_period(
    session: Session, period: str, *, today: date, actor_id: int | None = None
) -> CloseReport:
    """Write one statement per program and partner that earned in `period` (over by `today`)."""
    start, end = period_bounds(period)
    period = period.strip().upper()
    if end >= today:
        raise InvalidPeriod({"period": _l("The period %(period)s is not over yet.", period=period)})
    lock_keys(session, f"rebates-close:{period}")
    report = CloseReport()
    closed = set(
        session.execute(
            select(RebateStatement.program_id, RebateStatement.partner_id).where(
                RebateStatement.period == period
            )
        ).all()
    )
    now = utcnow()
    in_database = session.get_bind().dialect.name == "postgresql"
    for program in programs_paying(session, start):
        rules = approved_rules(session, program)
        report.already_closed += sum(1 for pid in rules if (program.id, pid) in closed)
        rules = {pid: r for pid, r in rules.items() if (program.id, pid) not in closed}
        close = close_program if in_database else close_program_here
        done = close(
            session, program, rules, period, (start, end), closed_at=now, actor_id=actor_id
        )
        report.statements += done.statements
        report.held += _held(session, program, done.held_ids)
    return report


def close_program_here(
    session: Session,
    program: Program,
    rules: dict[int, list],
    period: str,
    bounds: tuple[date, date],
    *,
    closed_at: datetime,
    actor_id: int | None,
) -> ClosedProgram:
    """`channel.rebate_sql.close_program` computed in Python (`accrue_many`), for SQLite."""
    start, end = bounds
    written, held = [], []
    for accrual in accrue_many(session, program, rules, period).values():
        held += [purchase.id for purchase, _ in accrual.held]
        if not accrual.lines:
            continue
        statement = RebateStatement(
            program_id=program.id,
            partner_id=accrual.partner.id,
            period=period,
            starts_on=start,
            ends_on=end,
            currency=program.currency,
            total=accrual.total,
            reference=f"RB-{period}-{program.id}-{accrual.partner.id}",
            closed_at=closed_at,
            closed_by_id=actor_id,
        )
        session.add(statement)
        written.append((statement, accrual))
    session.flush()
    _write_lines(BulkWriter(session), program, written)
    return ClosedProgram([statement for statement, _ in written], held)


def _write_lines(writer: BulkWriter, program: Program, written: list) -> None:
    """Every statement's lines, in bulk (COPY on PostgreSQL)."""
    count = sum(len(accrual.lines) for _, accrual in written)
    ids = iter(writer.next_ids(RebateLine.__table__, count))
    writer.insert_values(
        RebateLine.__table__,
        (
            "id", "statement_id", "program_id", "purchase_line_id", "rule", "amount",
            "currency", "rate", "converted", "percent", "rebate", "tier_code", "true_up_of",
        ),
        (
            (next(ids), statement.id, program.id, line.purchase.id, str(line.rule),
             line.purchase.amount, line.purchase.currency, line.rate, line.converted,
             line.percent, line.rebate, line.tier_code, line.true_up_of)
            for statement, accrual in written
            for line in accrual.lines
        ),
    )  # fmt: skip


def _held(session: Session, program: Program, ids: list[int]) -> list[tuple]:
    """(partner, purchase line, why) of lines the database held back for want of a rate."""
    if not ids:
        return []
    rows = {
        row.id: row
        for row in session.execute(
            select(*LINE_COLUMNS).where(in_values(session, PurchaseLine.id, ids))
        )
    }
    rates, held = RateBook(session), []
    for purchase in (rows[line_id] for line_id in ids):
        try:
            rates.convert(
                purchase.amount, purchase.currency, program.currency, purchase.invoiced_on
            )
        except NoRate as missing:
            partner = session.get(PartnerOrganization, purchase.partner_id)
            held.append((partner, purchase, str(missing.errors["currency"])))
    return held


def programs_paying(session: Session, since: date) -> list[Program]:
    """Programs running or closed that were still on at `since` (those may pay on purchases)."""
    return list(
        session.scalars(
            select(Program)
            .where(
                Program.status.in_((ProgramStatus.ACTIVE, ProgramStatus.CLOSED)),
                Program.ends_at >= datetime.combine(since, time(), tzinfo=UTC),
            )
            .order_by(Program.id)
        )
    )
