"""The month key that ledger entries, caps and dashboards share: "2026-12", a UTC month."""

from datetime import UTC, date, datetime


def month_key(moment: datetime | date) -> str:
    """The UTC calendar month of `moment` (a day is taken as it is)."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment.month:02d}"
