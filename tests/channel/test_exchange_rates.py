"""Exchange rates from reference-rate files, and amounts converted by them exactly."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from channel.exchange_rates import (
    ExchangeRate,
    NoRate,
    UnreadableRatesFile,
    convert,
    import_rates,
)

#: The layout of the daily reference-rate history file: Date, then a column per currency,
#: "N/A" where a currency had no rate, and a trailing comma.
HISTORY = (
    b"Date,USD,PLN,ILS,JPY,\n"
    b"2026-12-03,1.0500,4.2345,3.8012,160.12,\n"
    b"2026-12-02,1.0480,4.2300,N/A,159.80,\n"
)


def test_a_reference_rate_file_is_stored_and_importing_it_again_changes_nothing(db):
    first = import_rates(db, HISTORY)
    assert (first.added, first.unchanged, first.rejected) == (7, 0, [])
    again = import_rates(db, HISTORY)
    assert (again.added, again.unchanged, again.rejected) == (0, 7, [])
    stored = db.scalar(
        select(ExchangeRate.per_eur).where(
            ExchangeRate.currency == "PLN", ExchangeRate.day == date(2026, 12, 3)
        )
    )
    assert Decimal(stored) == Decimal("4.2345")


def test_the_daily_file_layout_with_its_long_date_and_semicolons_is_read(db):
    report = import_rates(db, b"Date;USD;PLN\n3 December 2026;1,0500;4,2345\n")
    assert report.added == 2 and not report.rejected
    assert convert(db, Decimal("100"), "EUR", "PLN", date(2026, 12, 3)).converted == Decimal(
        "423.45"
    )


def test_an_amount_is_converted_through_the_euro_at_a_rate_anyone_can_recompute(db):
    import_rates(db, HISTORY)
    line = convert(db, Decimal("1000.00"), "ILS", "PLN", date(2026, 12, 3))
    assert line.rate == Decimal("1.113990")  # 4.2345 / 3.8012 = 1.1139903…
    assert line.converted == (Decimal("1000.00") * line.rate).quantize(Decimal("0.01"))
    assert line.converted == Decimal("1113.99")
    to_euro = convert(db, Decimal("38.01"), "ILS", "EUR", date(2026, 12, 3))
    assert to_euro.rate == Decimal("0.263075") and to_euro.converted == Decimal("10.00")
    to_yen = convert(db, Decimal("10.00"), "EUR", "JPY", date(2026, 12, 3))
    assert to_yen.converted == Decimal("1601")  # yen have no minor unit


def test_a_weekend_amount_takes_the_last_published_rate_but_never_an_old_one(db):
    import_rates(db, HISTORY)
    saturday = convert(db, Decimal("10"), "EUR", "USD", date(2026, 12, 5))
    assert saturday.rate_day == date(2026, 12, 3) and saturday.converted == Decimal("10.50")
    with pytest.raises(NoRate) as missing:
        convert(db, Decimal("10"), "EUR", "USD", date(2026, 12, 11))
    assert "USD" in str(missing.value.errors["currency"])
    with pytest.raises(NoRate):
        convert(db, Decimal("10"), "ILS", "EUR", date(2026, 12, 2))  # N/A that day...
    # ...which falls back to nothing older, since there is no earlier ILS rate.


def test_a_different_rate_for_a_stored_day_is_refused_with_its_reason(db):
    import_rates(db, HISTORY)
    report = import_rates(db, b"Date,USD,PLN\n2026-12-03,1.0600,4.2345\n2026-12-04,1.06,4.25\n")
    assert report.added == 2 and report.unchanged == 1
    [(line, currency, reasons)] = report.rejected
    assert (line, currency) == (2, "USD") and "1.05" in reasons[0]
    assert convert(db, Decimal("10"), "EUR", "USD", date(2026, 12, 3)).rate == Decimal("1.05")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\xff\xfe", "UTF-8"),
        (b"Day,USD\n2026-12-03,1.05\n", "Date"),
        (b"Date,XYZ\n2026-12-03,1.05\n", "XYZ"),
        (b"Date,USD,usd\n2026-12-03,1.05,1.05\n", "two columns"),
        (b"Date,USD\nyesterday,1.05\n", "not a date"),
        (b"Date,USD\n2026-12-03,1.05\n2026-12-03,1.06\n", "same day"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(db, data, message):
    with pytest.raises(UnreadableRatesFile) as refused:
        import_rates(db, data)
    assert message in str(refused.value)
    assert db.scalar(select(func.count()).select_from(ExchangeRate)) == 0


def test_bad_cells_are_refused_one_by_one_and_the_good_ones_stored(db):
    report = import_rates(db, b"Date,USD,PLN,ILS\n2026-12-03,abc,-4,3.80\n2099-01-01,1.0,1.0,1.0\n")
    assert report.added == 1
    reasons = {(line, currency): text for line, currency, [text] in report.rejected}
    assert "not a number" in reasons[(2, "USD")]
    assert "positive" in reasons[(2, "PLN")]
    assert "future" in reasons[(3, "")]


@pytest.mark.postgresql
def test_two_imports_of_one_file_at_once_store_each_rate_once(committed_postgres_app):
    app = committed_postgres_app
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    start, reports = threading.Barrier(2), []

    def run():
        with app.app_context(), factory() as session:
            start.wait()
            reports.append(import_rates(session, HISTORY))
            session.commit()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(report.added for report in reports) == [0, 7]
    assert all(not report.rejected for report in reports)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(ExchangeRate)) == 7
