"""Exchange rates, and money converted by them: purchases come in many currencies, programs
pay in one.

Design:
- Rates are stored as the common daily reference-rate files give them: units of a currency
  for one euro, on a day (EUR itself is always 1). Any pair is converted through the euro.
- An amount is converted at the rate of its own date, or the last rate published before it
  within RATE_MAX_AGE_DAYS (reference rates are not published on weekends and holidays).
  With no such rate there is no conversion: `NoRate` says which currency and day, and the
  caller holds the amount, never converting it at a guess.
- The rate applied is rounded to RATE_PLACES decimal places and the converted amount to the
  target currency's minor unit, both half-even, so that every statement line (original
  amount × rate = converted amount) can be recomputed by hand from what it shows.
- A rate, once stored, is never changed by an import: an import that brings a different
  rate for a stored day refuses that row with a reason (statements may have used the old
  one), and an import of the same rates again changes nothing. Rows are inserted with
  ON CONFLICT DO NOTHING, so two imports at once store each rate once.
"""

import csv
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache

from babel.numbers import get_currency_precision, list_currencies
from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, Numeric, String, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.csvfiles import dict_reader, normalized_header
from core.db import Base, UTCDateTime, utcnow
from core.errors import InvalidInput
from core.tables import UnreadableFile, check_line_count, csv_rows

BASE_CURRENCY = "EUR"
#: How old the last published rate may be on an amount's date: a long weekend and a holiday.
RATE_MAX_AGE_DAYS = 7
#: Decimal places of the rate applied to an amount.
RATE_PLACES = 6
#: A daily file covers one day; a history file decades of working days.
MAX_ROWS = 20_000
#: Far beyond any currency's units per euro, yet refusing a misplaced amount.
MAX_RATE = Decimal(10) ** 8
#: What reference-rate files write for a currency with no rate that day.
NO_VALUE = {"", "n/a", "na", "-"}


class ExchangeRate(Base):
    """Units of `currency` for one euro on `day`."""

    __tablename__ = "exchange_rates"
    __table_args__ = (CheckConstraint("per_eur > 0", name="positive"),)

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    per_eur: Mapped[Decimal] = mapped_column(Numeric(20, 10))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class NoRate(InvalidInput):
    """No rate for a currency on a day (or within RATE_MAX_AGE_DAYS before it)."""

    def __init__(self, currency: str, day: date):
        self.currency, self.day = currency, day
        super().__init__(
            {
                "currency": _l(
                    "No exchange rate for %(currency)s on %(day)s: import the rates for that day.",
                    currency=currency,
                    day=day.isoformat(),
                )
            }
        )


class UnreadableRatesFile(UnreadableFile):
    """The rates file as a whole cannot be read; nothing was imported."""


@dataclass(frozen=True)
class Conversion:
    """An amount, the rate applied to it, and what it came to."""

    amount: Decimal
    currency: str
    rate: Decimal
    converted: Decimal
    to_currency: str
    #: The day whose published rates were used (the amount's day or the last before it).
    rate_day: date


def known_currency(code: str) -> bool:
    return code in _currencies()


@cache
def _currencies() -> frozenset[str]:
    """ISO 4217 codes as Babel knows them."""
    return frozenset(list_currencies())


def per_eur(session: Session, currency: str, day: date) -> tuple[Decimal, date]:
    """Units of `currency` for one euro on `day`, and the day of the rate used."""
    if currency == BASE_CURRENCY:
        return Decimal(1), day
    found = session.execute(
        select(ExchangeRate.per_eur, ExchangeRate.day)
        .where(
            ExchangeRate.currency == currency,
            ExchangeRate.day <= day,
            ExchangeRate.day >= day - timedelta(days=RATE_MAX_AGE_DAYS),
        )
        .order_by(ExchangeRate.day.desc())
        .limit(1)
    ).first()
    if found is None:
        raise NoRate(currency, day)
    return Decimal(found.per_eur), found.day


def convert(
    session: Session, amount: Decimal, currency: str, to_currency: str, day: date
) -> Conversion:
    """`amount` in `currency` on `day`, in `to_currency`; raises NoRate without a rate."""
    return RateBook(session).convert(amount, currency, to_currency, day)


class RateBook:
    """Conversions for one piece of work: each currency's rates are read once, in one query,
    then looked up in memory (the last published on or before a day, as `per_eur`)."""

    def __init__(self, session: Session):
        self.session = session
        self._series: dict[str, tuple[list[date], list[Decimal]]] = {}

    def per_eur(self, currency: str, day: date) -> tuple[Decimal, date]:
        if currency == BASE_CURRENCY:
            return Decimal(1), day
        if currency not in self._series:
            rows = self.session.execute(
                select(ExchangeRate.day, ExchangeRate.per_eur)
                .where(ExchangeRate.currency == currency)
                .order_by(ExchangeRate.day)
            ).all()
            self._series[currency] = ([r.day for r in rows], [Decimal(r.per_eur) for r in rows])
        days, values = self._series[currency]
        index = bisect_right(days, day) - 1
        if index < 0 or days[index] < day - timedelta(days=RATE_MAX_AGE_DAYS):
            raise NoRate(currency, day)
        return values[index], days[index]

    def convert(self, amount: Decimal, currency: str, to_currency: str, day: date) -> Conversion:
        if currency == to_currency:
            return Conversion(amount, currency, Decimal(1), amount, to_currency, day)
        source, source_day = self.per_eur(currency, day)
        target, target_day = self.per_eur(to_currency, day)
        rate = (target / source).quantize(Decimal(10) ** -RATE_PLACES, ROUND_HALF_EVEN)
        return Conversion(
            amount=amount,
            currency=currency,
            rate=rate,
            converted=in_minor_units(amount * rate, to_currency),
            to_currency=to_currency,
            rate_day=min(source_day, target_day),
        )


def in_minor_units(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-even to the currency's smallest unit (cents, agorot, grosze)."""
    return amount.quantize(_minor_unit(currency), ROUND_HALF_EVEN)


@cache
def _minor_unit(currency: str) -> Decimal:
    return Decimal(10) ** -get_currency_precision(currency)


@dataclass
class RatesReport:
    added: int = 0
    unchanged: int = 0
    #: (line, currency, reasons) of every rate not stored.
    rejected: list[tuple[int, str, list[str]]] = field(default_factory=list)


def import_rates(session: Session, data: bytes) -> RatesReport:
    """Store the rates of a reference-rate CSV: a Date column, then one column per currency
    (units for one euro), a row per day; a rate of another value for a stored day is refused."""
    rows, report = _read(data), RatesReport()
    entries = []
    for line, day, cells in rows:
        if day > _latest_day():
            report.rejected.append((line, "", [str(_l("The day is in the future."))]))
            continue
        entries.extend((line, currency, day, raw) for currency, raw in cells.items())
    return _store(session, entries, report)


def add_rates(session: Session, rates: Iterable[tuple[int, str, date, str]]) -> RatesReport:
    """Store rates given one by one as (line, currency, day, units for one euro as text), as
    an API sends them; refused and stored like a file's (`import_rates`), each rate alone."""
    report, entries = RatesReport(), []
    for line, currency, day, raw in rates:
        code = currency.strip().upper()
        if not known_currency(code) or code == BASE_CURRENCY:
            problem = _l("“%(currency)s” is not a currency code.", currency=code[:10])
            report.rejected.append((line, code[:10], [str(problem)]))
        elif day > _latest_day():
            report.rejected.append((line, code, [str(_l("The day is in the future."))]))
        else:
            entries.append((line, code, day, raw))
    return _store(session, entries, report)


def _latest_day() -> date:
    """The last day a rate may be for: tomorrow in UTC, today somewhere east of it."""
    return utcnow().date() + timedelta(days=1)


def _store(session: Session, entries: list[tuple[int, str, date, str]], report: RatesReport):
    """Check (line, currency, day, raw value) entries against each other and the stored
    rates; store the new ones."""
    wanted: dict[tuple[str, date], tuple[int, Decimal]] = {}
    for line, currency, day, raw in entries:
        value, problem = _rate(raw)
        if problem is not None:
            report.rejected.append((line, currency, [str(problem)]))
        elif value is not None:
            earlier = wanted.get((currency, day))
            if earlier is not None and earlier[1] != value:
                again = _l("Another rate for this day is on line %(line)s.", line=earlier[0])
                report.rejected.append((line, currency, [str(again)]))
            elif earlier is None:
                wanted[(currency, day)] = (line, value)
    stored = _stored(session, wanted)
    new = []
    for (currency, day), (line, value) in wanted.items():
        if (currency, day) not in stored:
            new.append({"currency": currency, "day": day, "per_eur": value})
        elif stored[(currency, day)] == value:
            report.unchanged += 1
        else:
            report.rejected.append((line, currency, [str(_conflict(stored[(currency, day)]))]))
    report.added = _insert_new(session, new)
    report.unchanged += len(new) - report.added
    return report


def _conflict(stored: Decimal):
    return _l(
        "A different rate (%(rate)s) is already stored for this day; rates once used are not "
        "changed.",
        rate=stored.normalize(),
    )


def _stored(session: Session, wanted: dict) -> dict[tuple[str, date], Decimal]:
    if not wanted:
        return {}
    days = {day for _, day in wanted}
    rows = session.execute(
        select(ExchangeRate.currency, ExchangeRate.day, ExchangeRate.per_eur).where(
            ExchangeRate.day.between(min(days), max(days)),
            ExchangeRate.currency.in_({currency for currency, _ in wanted}),
        )
    )
    return {(currency, day): Decimal(value) for currency, day, value in rows}


def _insert_new(session: Session, values: list[dict]) -> int:
    """Insert the rates not stored yet; one stored meanwhile by another import is skipped."""
    if not values:
        return 0
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    now, added = utcnow(), 0
    for start in range(0, len(values), 1000):
        chunk = [{**value, "imported_at": now} for value in values[start : start + 1000]]
        inserted = session.execute(
            dialect.insert(ExchangeRate.__table__)
            .values(chunk)
            .on_conflict_do_nothing()
            .returning(ExchangeRate.__table__.c.currency)
        )
        added += len(inserted.all())
    session.flush()
    return added


def _rate(raw) -> tuple[Decimal | None, object]:
    text = (raw or "").strip()
    if text.lower() in NO_VALUE:
        return None, None
    try:
        value = Decimal(
            text.replace(",", ".") if text.count(",") == 1 and "." not in text else text
        )
    except InvalidOperation:
        return None, _l("“%(value)s” is not a number.", value=text[:40])
    if not value.is_finite() or value <= 0:
        return None, _l("A rate must be a positive number.")
    if value >= MAX_RATE:
        return None, _l("A rate must be below %(max)s.", max=MAX_RATE)
    return value, None


def _read(data: bytes) -> list[tuple[int, date, dict[str, str]]]:
    """The file's rows as (line, day, {currency: cell}); a file that cannot be read is refused
    whole."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableRatesFile(
            _l("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")
        ) from None
    if not text.strip():
        raise UnreadableRatesFile(_l("The file is empty."))
    check_line_count(text, MAX_ROWS, UnreadableRatesFile)
    reader = dict_reader(text)
    try:
        header = normalized_header(reader)
        if not header or header[0] != "date":
            raise UnreadableRatesFile(
                _l("The first column must be “Date”, then one column per currency.")
            )
        currencies = {}
        for name in header[1:]:
            if not name:
                continue  # the trailing comma of the reference files
            code = name.upper()
            if not known_currency(code) or code == BASE_CURRENCY:
                raise UnreadableRatesFile(
                    _l("“%(column)s” is not a currency code.", column=code[:40])
                )
            if code in currencies.values():
                raise UnreadableRatesFile(
                    _l("The currency %(currency)s has two columns.", currency=code)
                )
            currencies[name] = code
        rows, days = [], {}
        for row in csv_rows(reader, UnreadableRatesFile):
            day = _day(row.get("date"))
            if day is None:
                raise UnreadableRatesFile(
                    _l(
                        "Line %(line)s: “%(value)s” is not a date (2026-12-03 or 3 December 2026).",
                        line=reader.line_num,
                        value=(row.get("date") or "")[:40],
                    )
                )
            if day in days:
                raise UnreadableRatesFile(
                    _l(
                        "Lines %(first)s and %(line)s are the same day.",
                        first=days[day],
                        line=reader.line_num,
                    )
                )
            days[day] = reader.line_num
            rows.append(
                (reader.line_num, day, {code: row.get(name) for name, code in currencies.items()})
            )
    except csv.Error:
        raise UnreadableRatesFile(
            _l("The file is not valid CSV (line %(line)s).", line=reader.line_num)
        ) from None
    return rows


def _day(raw) -> date | None:
    text = " ".join((raw or "").split())
    for layout in ("%Y-%m-%d", "%d %B %Y"):
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    return None
