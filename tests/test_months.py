"""The month key shared by ledger entries, caps and dashboards."""

from datetime import date, datetime, timedelta, timezone

from core.months import month_key


def test_a_moment_counts_in_its_utc_month_whatever_zone_it_was_given_in():
    riga_new_year = datetime(2027, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert month_key(riga_new_year) == "2026-12"
    assert (
        month_key(datetime(2026, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-3)))) == "2027-01"
    )


def test_a_day_is_its_own_month():
    assert month_key(date(987, 3, 9)) == "0987-03"
