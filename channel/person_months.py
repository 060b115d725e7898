"""What each person did in each month, kept with every posting and every claim: the dashboards'
month in progress read from at most a row per person instead of the month's entries.

Closed months' engagement and earnings are stored by `flask rollups refresh`
(`channel.month_rollups`); the month in progress (and a closed month not refreshed yet) was
counted from its entries, so its cost grew with the month's volume. `PersonMonth` keeps, by
(month, person, program, partner), the three things those live reads need:

- `earn_lines`: earn entries that count against the month (the entry's `month`, as the
  engagement's "earned points in the month" reads it);
- `claims`: claims the person made in the month (created then; program 0, the claim's partner);
- `points` and `lines`: earn and reverse entries written in the month (`created_at`) that are
  the person's own (not their company pool's), as the people's leader board and a partner's
  staff earnings sum them.

The three are keyed by different months (an entry counted against last month's caps is
written this month), so one row may hold only some of them. Every column only grows or moves
by a signed sum: `channel.postings` adds its lines with `add_posted`, the ORM's claim insert
adds claims with `add_claims`, and the bulk sell-out import gathers both for the whole file in a
`PersonMonthSums` (one upsert per import rather than one per chunk); each is an additive upsert
(`INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x`) in the writer's own transaction, in
key order, so concurrent writers to one row both count. `check_person_months` recounts it all
(`flask ledger check`); `person_months_sql` is that recount, shared with the migration.
"""

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Index, Integer, String, UniqueConstraint, func, literal, select, union_all
from sqlalchemy.orm import Mapped, Session, mapped_column

from channel.claim_models import Claim
from channel.ledger import EARNED_KINDS, EntryKind, LedgerEntry
from channel.rollups import NO_PROGRAM, add_up, created_month
from core.db import Base

KEYS = ["month", "person_id", "program_id", "partner_id"]
SUMS = ["earn_lines", "claims", "points", "lines"]


class PersonMonth(Base):
    """A person's earn entries, claims and earnings in a month, by program and partner (see the
    module's docstring for which month each counts in); `program_id` 0 is "no program" and
    is the program of every claim."""

    __tablename__ = "person_months"
    __table_args__ = (
        UniqueConstraint(*KEYS),
        # A partner's staff earnings read only its own people's rows.
        Index("ix_person_months_partner_month", "partner_id", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The UTC month ("2026-11").
    month: Mapped[str] = mapped_column(String(7))
    person_id: Mapped[int] = mapped_column(Integer)
    program_id: Mapped[int] = mapped_column(Integer)
    partner_id: Mapped[int] = mapped_column(Integer)
    #: Earn entries whose `month` (the month they count against) is this one.
    earn_lines: Mapped[int] = mapped_column(Integer, default=0)
    #: Claims created in the month.
    claims: Mapped[int] = mapped_column(Integer, default=0)
    #: Earn and reverse points written in the month to the person's own balance, and how many
    #: such lines.
    points: Mapped[int] = mapped_column(Integer, default=0)
    lines: Mapped[int] = mapped_column(Integer, default=0)


#: A posted line as counted here: (month written, month counted against, kind, program_id,
#: partner_id, person_id, to_pool, points, how many such lines).
PostedLine = tuple[str, str, str, int | None, int, int | None, bool, int, int]


class PersonMonthSums:
    """Sums to add to `person_months`, gathered (over a posting, or over the chunks of an
    import) and written by `write` in one additive upsert, in key order."""

    def __init__(self):
        self.sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])

    def add_posted(self, lines: Iterable[PostedLine]) -> "PersonMonthSums":
        """Count posted lines."""
        sums = self.sums
        for (
            written,
            counted,
            kind,
            program_id,
            partner_id,
            person_id,
            to_pool,
            points,
            times,
        ) in lines:
            if person_id is None:
                continue
            program = program_id or NO_PROGRAM
            if kind == EntryKind.EARN:
                sums[(counted, person_id, program, partner_id)][0] += times
            if kind in EARNED_KINDS and not to_pool:
                row = sums[(written, person_id, program, partner_id)]
                row[2] += points * times
                row[3] += times
        return self

    def add_claims(self, claims: Iterable[tuple[tuple[str, int, int], int]]) -> "PersonMonthSums":
        """Count ((month created, person_id, partner_id), how many) claims."""
        for (month, person_id, partner_id), times in claims:
            self.sums[(month, person_id, NO_PROGRAM, partner_id)][1] += times
        return self

    def merge(self, other: "PersonMonthSums") -> None:
        for key, values in other.sums.items():
            row = self.sums[key]
            for i, value in enumerate(values):
                row[i] += value

    def write(self, run, dialect: str) -> None:
        """Add the sums to `person_months` (`run` is a session's or connection's `execute`),
        and start again from nothing."""
        rows = [
            dict(zip(KEYS, key, strict=True)) | dict(zip(SUMS, values, strict=True))
            for key, values in sorted(self.sums.items())
            if any(values)
        ]
        self.sums.clear()
        if rows:
            add_up(run, dialect, PersonMonth.__table__, rows, KEYS, SUMS)


def add_posted(run, dialect: str, lines: Iterable[PostedLine]) -> None:
    """Count posted lines at once; `run` is a session's or connection's `execute`."""
    PersonMonthSums().add_posted(lines).write(run, dialect)


def add_claims(run, dialect: str, claims: Iterable[tuple[tuple[str, int, int], int]]) -> None:
    """Count ((month created, person_id, partner_id), how many) claims at once."""
    PersonMonthSums().add_claims(claims).write(run, dialect)


def person_months_sql(dialect: str):
    """`PersonMonth` rows recounted from the entries and the claims."""
    program = func.coalesce(LedgerEntry.program_id, NO_PROGRAM)
    zero = literal(0)
    earned = (
        select(
            LedgerEntry.month,
            LedgerEntry.person_id,
            program.label("program_id"),
            LedgerEntry.partner_id,
            func.count().label("earn_lines"),
            zero.label("claims"),
            zero.label("points"),
            zero.label("lines"),
        )
        .where(LedgerEntry.kind == EntryKind.EARN, LedgerEntry.person_id.is_not(None))
        .group_by(LedgerEntry.month, LedgerEntry.person_id, program, LedgerEntry.partner_id)
    )
    written = created_month(dialect)
    earnings = (
        select(
            written,
            LedgerEntry.person_id,
            program,
            LedgerEntry.partner_id,
            zero,
            zero,
            func.sum(LedgerEntry.points),
            func.count(),
        )
        .where(
            LedgerEntry.kind.in_(EARNED_KINDS),
            LedgerEntry.to_pool.is_(False),
            LedgerEntry.person_id.is_not(None),
        )
        .group_by(written, LedgerEntry.person_id, program, LedgerEntry.partner_id)
    )
    claimed_in = created_month(dialect, Claim.created_at)
    claimed = select(
        claimed_in,
        Claim.person_id,
        literal(NO_PROGRAM),
        Claim.partner_id,
        zero,
        func.count(),
        zero,
        zero,
    ).group_by(claimed_in, Claim.person_id, Claim.partner_id)
    parts = union_all(earned, earnings, claimed).subquery("parts")
    c = parts.c
    return select(
        c.month,
        c.person_id,
        c.program_id,
        c.partner_id,
        *(func.sum(getattr(c, name)).label(name) for name in SUMS),
    ).group_by(c.month, c.person_id, c.program_id, c.partner_id)


def check_person_months(session: Session) -> list[str]:
    """Every stored row that differs from a recount of the entries and claims, one line each."""
    dialect = session.get_bind().dialect.name
    counted = {
        tuple(r[:4]): tuple(int(v) for v in r[4:])
        for r in session.execute(person_months_sql(dialect))
    }
    stored = {
        (r.month, r.person_id, r.program_id, r.partner_id): tuple(getattr(r, name) for name in SUMS)
        for r in session.scalars(select(PersonMonth))
    }
    nothing = (0, 0, 0, 0)
    return [
        f"person month {key}: stored {stored.get(key, nothing)}, counted {counted.get(key, nothing)}"
        for key in sorted(set(counted) | set(stored))
        if stored.get(key, nothing) != counted.get(key, nothing)
    ]
