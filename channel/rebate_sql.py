"""The period close of one program computed inside PostgreSQL: the same rules as
`channel.rebate_accrual`, as one set-based statement that writes the statements and their
lines (no purchase line travels to Python and back).

Why a second form of the same arithmetic: a close reads every purchase line of the period
(250,000 for 10,000 partners in a quarter) and writes one statement line per line and rule;
in Python that is seconds of per-line work and a COPY back. PostgreSQL's numeric type is
exact, so the database can do the same sums. SQLite's is not (it stores decimals as floats),
so SQLite closes through `rebate_accrual` as before. `tests/channel/test_rebate_sql.py`
holds the two forms to the same statements, line for line, on PostgreSQL.

Each step mirrors its Python twin:
- conversion (`RateBook.convert`): the last rate of each currency on or before the invoice
  date and no older than `RATE_MAX_AGE_DAYS`, euro 1; the rate is target/source rounded
  half-even to `RATE_PLACES`, the converted amount half-even to the currency's minor unit;
  a line in the program's own currency keeps its amount at rate 1; without a rate it is
  held (not written, so a later close pays it);
- the tier on a day (`TierTimelines.on`): the last tier change before the day ends, else the
  first change's starting tier, else the partner's tier;
- the running total before a line (cumulative discounts): the period's converted purchases
  ordered by day and line;
- the first invoice (first-order discounts): the partner's earliest invoice ever.
"""

from dataclasses import dataclass
from datetime import date, datetime

from babel.numbers import get_currency_precision
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from channel.exchange_rates import BASE_CURRENCY, RATE_MAX_AGE_DAYS, RATE_PLACES
from channel.models import Program
from channel.rebate_models import RebateStatement
from channel.rule_params import RuleKind
from core.bulk import in_values


@dataclass
class ClosedProgram:
    """What closing a period wrote for one program."""

    statements: list[RebateStatement]
    #: Ids of the purchase lines held back for want of a rate, by partner, day and line.
    held_ids: list[int]


def close_program(
    session: Session,
    program: Program,
    rules: dict[int, list],
    period: str,
    bounds: tuple[date, date],
    *,
    closed_at: datetime,
    actor_id: int | None,
) -> ClosedProgram:
    """Write the statements of `period` for `program` and the partners in `rules`."""
    # Partners who approved the same version share one list of rules (`approved_rules`).
    by_rules: dict[int, tuple[list, list[int]]] = {}
    for partner_id, partner_rules in sorted(rules.items()):
        by_rules.setdefault(id(partner_rules), (partner_rules, []))[1].append(partner_id)
    held: list[int] = []
    # One big statement: compiling it to machine code (JIT) costs more than it saves, and its
    # sorts of a quarter's lines fit in memory.
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    for partner_rules, partner_ids in by_rules.values():
        query = _Query(program, partner_rules, period, bounds)
        close, held_lines = query.close_sql(), query.held_sql()
        params = query.params | {"partners": partner_ids, "now": closed_at, "actor": actor_id}
        session.execute(text(close), params)
        held += session.scalars(text(held_lines), params).all()
    statements = session.scalars(
        select(RebateStatement)
        .where(
            RebateStatement.program_id == program.id,
            RebateStatement.period == period,
            in_values(session, RebateStatement.partner_id, sorted(rules)),
        )
        .order_by(RebateStatement.id)
    ).all()
    return ClosedProgram(list(statements), held)


def _half_even(expression: str, places: int) -> str:
    """SQL rounding `expression` half-even to `places` (PostgreSQL's round() goes half up)."""
    scaled = f"(({expression}) * {10**places})"
    return (
        f"CASE WHEN abs({scaled} - trunc({scaled})) = 0.5 "
        f"THEN round((trunc({scaled}) + CASE WHEN mod(trunc({scaled}), 2) = 0 THEN 0 "
        f"ELSE sign({scaled}) END) / {10**places}, {places}) "
        f"ELSE round({expression}, {places}) END"
    )


_RATE_ON = """(
    SELECT rate.per_eur FROM exchange_rates rate
    WHERE rate.currency = {currency} AND rate.day <= d.invoiced_on
      AND rate.day >= d.invoiced_on - :max_age
    ORDER BY rate.day DESC LIMIT 1
)"""
_END_OF_DAY = "(((k.invoiced_on + 1)::timestamp) AT TIME ZONE 'UTC')"
_COLUMNS = "k.id, k.partner_id, k.invoiced_on, k.amount, k.currency, k.rate, k.converted"


class _Query:
    """The SQL of one close for partners sharing one list of rules, and its parameters."""

    def __init__(self, program: Program, rules: list, period: str, bounds: tuple[date, date]):
        self.rules = rules
        self.minor = get_currency_precision(program.currency)
        start, end = bounds
        self.params = {
            "program": program.id,
            "currency": program.currency,
            "base": BASE_CURRENCY,
            "since": program.starts_at.date(),
            "start": start,
            "end": end,
            "max_age": RATE_MAX_AGE_DAYS,
            "period": period,
            "reference": f"RB-{period}-{program.id}-",
            "true_up_format": 'YYYY-"Q"Q' if "Q" in period.upper() else "YYYY-MM",
        }
        self.kinds = {rule.kind for rule in rules}

    def _rated(self) -> str:
        """CTEs `lines` (unpaid lines of the partners up to the period's end) and `rated`
        (each line's conversion; NULL rate when there is none)."""
        source = _RATE_ON.format(currency="d.currency")
        target = _RATE_ON.format(currency=":currency")
        quotient = "(x.target::numeric(40, 28) / x.source)"
        return f"""
        lines AS MATERIALIZED (
            SELECT pl.id, pl.partner_id, pl.seller_id, pl.number, pl.invoiced_on,
                   pl.amount, pl.currency
            FROM purchase_lines pl
            WHERE pl.partner_id = ANY(:partners)
              AND pl.invoiced_on BETWEEN :since AND :end
              AND NOT EXISTS (
                  SELECT 1 FROM rebate_lines paid
                  WHERE paid.program_id = :program AND paid.purchase_line_id = pl.id
              )
        ),
        day_rates AS (
            SELECT x.currency, x.invoiced_on, {_half_even(quotient, RATE_PLACES)} AS rate
            FROM (
                SELECT d.currency, d.invoiced_on,
                       CASE WHEN d.currency = :base THEN 1 ELSE {source} END AS source,
                       CASE WHEN :currency = :base THEN 1 ELSE {target} END AS target
                FROM (SELECT DISTINCT currency, invoiced_on FROM lines
                      WHERE currency <> :currency) d
            ) x
        ),
        rated AS MATERIALIZED (
            SELECT l.*,
                   CASE WHEN l.currency = :currency THEN 1 ELSE r.rate END AS rate,
                   CASE WHEN l.currency = :currency THEN l.amount
                        ELSE {_half_even("l.amount * r.rate", self.minor)} END AS converted
            FROM lines l
            LEFT JOIN day_rates r ON r.currency = l.currency AND r.invoiced_on = l.invoiced_on
        )"""

    def held_sql(self) -> str:
        return f"""
        WITH {self._rated()}
        SELECT id FROM rated WHERE rate IS NULL ORDER BY partner_id, invoiced_on, id"""

    def close_sql(self) -> str:
        ctes = [self._rated(), self._ranked()]
        if RuleKind.VOLUME_REBATE in self.kinds:
            ctes.append(self._tiered())
        if RuleKind.FIRST_ORDER_DISCOUNT in self.kinds:
            ctes.append(self._first_invoices())
        per_rule = "\nUNION ALL\n".join(
            self._rule_select(ordinal, rule) for ordinal, rule in enumerate(self.rules)
        )
        rebate = _half_even("a.converted * a.percent / 100", self.minor)
        return f"""
        WITH {",".join(ctes)},
        accrued AS MATERIALIZED (
            SELECT a.*, {rebate} AS rebate,
                   CASE WHEN a.invoiced_on >= :start THEN NULL
                        ELSE to_char(a.invoiced_on, :true_up_format) END AS true_up_of
            FROM ({per_rule}) a
            WHERE a.percent IS NOT NULL AND a.percent <> 0
        ),
        written AS (
            INSERT INTO rebate_statements (program_id, partner_id, period, starts_on, ends_on,
                                           currency, total, reference, closed_at, closed_by_id)
            SELECT :program, partner_id, :period, :start, :end, :currency, sum(rebate),
                   :reference || partner_id, :now, :actor
            FROM accrued GROUP BY partner_id ORDER BY partner_id
            RETURNING id, partner_id
        )
        INSERT INTO rebate_lines (statement_id, program_id, purchase_line_id, rule, amount,
                                  currency, rate, converted, percent, rebate, tier_code,
                                  true_up_of)
        SELECT w.id, :program, a.id, a.rule, a.amount, a.currency, a.rate, a.converted,
               a.percent, a.rebate, a.tier_code, a.true_up_of
        FROM accrued a JOIN written w ON w.partner_id = a.partner_id
        ORDER BY a.partner_id, a.invoiced_on, a.id, a.ordinal"""

    @staticmethod
    def _ranked() -> str:
        """Lines with a rate, each with the period's purchases before it."""
        return """
        ranked AS (
            SELECT r.*, COALESCE(sum(
                       CASE WHEN r.invoiced_on >= :start THEN r.converted END
                   ) OVER (PARTITION BY r.partner_id ORDER BY r.invoiced_on, r.id
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
            FROM rated r WHERE r.rate IS NOT NULL
        )"""

    @staticmethod
    def _tiered() -> str:
        """Lines with the code of the partner's tier on the line's day."""
        return f"""
        tier_steps AS (
            SELECT tc.partner_id, tc.at, tc.from_tier_id, tc.to_tier_id,
                   lead(tc.at) OVER (PARTITION BY tc.partner_id ORDER BY tc.at, tc.id) AS next_at,
                   row_number() OVER (PARTITION BY tc.partner_id ORDER BY tc.at, tc.id) AS n
            FROM tier_changes tc WHERE tc.partner_id = ANY(:partners)
        ),
        tiered AS (
            SELECT k.*, tier.code AS tier_code
            FROM ranked k
            JOIN partner_organizations p ON p.id = k.partner_id
            LEFT JOIN tier_steps s ON s.partner_id = k.partner_id AND (
                (s.at < {_END_OF_DAY} AND (s.next_at IS NULL OR s.next_at >= {_END_OF_DAY}))
                OR (s.n = 1 AND s.at >= {_END_OF_DAY})
            )
            LEFT JOIN tiers tier ON tier.id = CASE
                WHEN s.partner_id IS NULL THEN p.tier_id
                WHEN s.at < {_END_OF_DAY} THEN s.to_tier_id
                ELSE s.from_tier_id END
        )"""

    @staticmethod
    def _first_invoices() -> str:
        return """
        first_invoices AS (
            SELECT DISTINCT ON (partner_id) partner_id, seller_id, number
            FROM purchase_lines
            WHERE partner_id = ANY(:partners) AND document = 'invoice'
            ORDER BY partner_id, invoiced_on, id
        )"""

    def _rule_select(self, ordinal: int, rule) -> str:
        """The lines with `rule`'s percent (NULL where it pays nothing)."""
        p = f"r{ordinal}_"
        head = f"SELECT {_COLUMNS}, {ordinal} AS ordinal, CAST(:{p}kind AS varchar) AS rule"
        self.params[f"{p}kind"] = str(rule.kind)
        params = rule.params
        if rule.kind is RuleKind.VOLUME_REBATE:
            self.params[f"{p}default"] = params.default_percent
            by_tier = self._values(
                p, [(code, percent) for code, percent in params.percent_by_tier.items()]
            )
            percent = f"CAST(:{p}default AS numeric)"
            if by_tier:
                return (
                    f"{head}, COALESCE(v.percent, {percent}) AS percent, k.tier_code "
                    f"FROM tiered k LEFT JOIN ({by_tier}) v(code, percent) "
                    "ON v.code = COALESCE(k.tier_code, '')"
                )
            return f"{head}, {percent} AS percent, k.tier_code FROM tiered k"
        if rule.kind is RuleKind.CUMULATIVE_DISCOUNT:
            steps = self._values(
                p, [(n, step.from_amount, step.percent) for n, step in enumerate(params.steps)]
            )
            reached = (
                f"(SELECT s.percent FROM ({steps}) s(n, from_amount, percent) "
                "WHERE k.before >= s.from_amount ORDER BY s.n DESC LIMIT 1)"
                if steps
                else "CAST(NULL AS numeric)"
            )
            return f"{head}, {reached} AS percent, CAST(NULL AS varchar) AS tier_code FROM ranked k"
        if rule.kind is RuleKind.FIRST_ORDER_DISCOUNT:
            self.params[f"{p}percent"] = params.percent
            return (
                f"{head}, CASE WHEN f.partner_id IS NOT NULL AND f.number = k.number "
                f"AND f.seller_id IS NOT DISTINCT FROM k.seller_id "
                f"THEN CAST(:{p}percent AS numeric) END AS percent, "
                "CAST(NULL AS varchar) AS tier_code "
                "FROM ranked k LEFT JOIN first_invoices f ON f.partner_id = k.partner_id"
            )
        raise ValueError(f"not a purchase rule: {rule.kind}")

    def _values(self, prefix: str, rows: list[tuple]) -> str:
        """A VALUES list of bound parameters (numbers cast to numeric)."""
        out = []
        for n, row in enumerate(rows):
            cells = []
            for c, value in enumerate(row):
                name = f"{prefix}{n}_{c}"
                self.params[name] = value
                cells.append(f":{name}" if isinstance(value, str) else f"CAST(:{name} AS numeric)")
            out.append(f"({', '.join(cells)})")
        return f"VALUES {', '.join(out)}" if out else ""
