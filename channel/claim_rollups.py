"""Claims counted by month, partner, status and fraud flag: kept with every claim, checked.

A claim's status changes long after its month (a review, a return), so its count cannot be
stored once at a month's close like the earnings. Instead every write of a claim moves the
counts in the same transaction: the ORM's insert and update of a `Claim` (whichever operation
made it: a submission, a decision, a texted claim, a line-by-line import) call
`_claim_inserted` / `_claim_updated`, which add +1 to its new (month, partner, status, flag)
rows and -1 to its old ones; the bulk sell-out import writes claims without the ORM and
counts them set-wise with `add_claim_counts` (`channel.sales_batch`). Each is an additive
upsert (`INSERT … ON CONFLICT DO UPDATE SET claims = claims + excluded.claims`), so two
transactions counting the same row both count; a claim's own changes are serialised by the
row lock the decisions take (`channel.claims`). `check_claim_months` recounts them from the
claims (`flask ledger check`); `claim_months_sql` is that recount, shared with the migration.
"""

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import event, func, inspect, literal, select, true, union_all

from channel.claim_models import Claim, ClaimMonth
from channel.person_months import add_claims
from channel.rollups import add_up, created_month
from core.months import month_key

#: `ClaimMonth.flag` of the rows that count every claim.
ALL_CLAIMS = ""

#: A claim as counted: (month, partner_id, status, flags).
Counted = tuple[str, int, str, tuple[str, ...]]


def _rows(claims: Iterable[tuple[Counted, int]]) -> list[dict]:
    counts: Counter = Counter()
    for (month, partner_id, status, flags), times in claims:
        for flag in (ALL_CLAIMS, *flags):
            counts[(month, partner_id, str(status), flag)] += times
    return [
        dict(zip(("month", "partner_id", "status", "flag"), key, strict=True)) | {"claims": n}
        for key, n in sorted(counts.items())
        if n
    ]


def add_claim_counts(run, dialect: str, claims: Iterable[tuple[Counted, int]]) -> None:
    """Add each (claim as counted, +1 or -1) to the counts, in key order (so concurrent
    writers take the rows' locks in one order); `run` is a session's or connection's
    `execute`."""
    rows = _rows(claims)
    if rows:
        keys = ["month", "partner_id", "status", "flag"]
        add_up(run, dialect, ClaimMonth.__table__, rows, keys, ["claims"])


def _counted(claim: Claim, old: bool = False) -> Counted:
    state = inspect(claim)

    def value(name):
        history = state.attrs[name].history
        if old and history.deleted:
            return history.deleted[0]
        return getattr(claim, name)

    return (
        month_key(value("created_at")),
        value("partner_id"),
        value("status"),
        tuple(value("flags") or ()),
    )


def _claim_inserted(_mapper, connection, claim: Claim) -> None:
    add_claim_counts(connection.execute, connection.dialect.name, [(_counted(claim), 1)])
    claimant = (month_key(claim.created_at), claim.person_id, claim.partner_id)
    add_claims(connection.execute, connection.dialect.name, [(claimant, 1)])


def _claim_updated(_mapper, connection, claim: Claim) -> None:
    before, after = _counted(claim, old=True), _counted(claim)
    if before != after:
        add_claim_counts(connection.execute, connection.dialect.name, [(before, -1), (after, 1)])


def connect_handlers() -> None:
    if not event.contains(Claim, "after_insert", _claim_inserted):
        event.listen(Claim, "after_insert", _claim_inserted)
        event.listen(Claim, "after_update", _claim_updated)


def flag_names(dialect: str):
    """A claim's flags as a table of one column, `value`, to join claims with."""
    if dialect == "postgresql":
        return func.json_array_elements_text(Claim.flags).table_valued("value")
    return func.json_each(Claim.flags).table_valued("value")


def claim_months_sql(dialect: str):
    """The counts recomputed from the claims, as `ClaimMonth` columns."""
    month = created_month(dialect, Claim.created_at).label("month")
    counted = select(
        month,
        Claim.partner_id,
        Claim.status,
        literal(ALL_CLAIMS).label("flag"),
        func.count().label("claims"),
    ).group_by(month, Claim.partner_id, Claim.status)
    names = flag_names(dialect)
    flagged = (
        select(
            month,
            Claim.partner_id,
            Claim.status,
            names.c.value.label("flag"),
            func.count().label("claims"),
        )
        .select_from(Claim)
        .join(names, true())
        .group_by(month, Claim.partner_id, Claim.status, names.c.value)
    )
    return union_all(counted, flagged)


def check_claim_months(session) -> list[str]:
    """Every stored claim count that differs from a recount of the claims, one line each."""
    dialect = session.get_bind().dialect.name
    counted = {tuple(r[:4]): int(r.claims) for r in session.execute(claim_months_sql(dialect))}
    stored = {
        (r.month, r.partner_id, r.status, r.flag): r.claims
        for r in session.scalars(select(ClaimMonth))
    }
    return [
        f"claims {key}: stored {stored.get(key, 0)}, counted {counted.get(key, 0)}"
        for key in sorted(set(counted) | set(stored))
        if stored.get(key, 0) != counted.get(key, 0)
    ]
