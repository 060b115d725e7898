"""The month key that ledger entries, caps and dashboards share: "2026-12", a UTC month."""

from datetime import UTC, date, datetime
from functools import lru_cache


@lru_cache(maxsize=4096)
def month_key(moment: datetime | date) -> str:
    """The UTC calendar month of `moment` (a day is taken as it is). Cached: the rules engine
    and the postings ask it of the same few moments (an import's sale days) again and again."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment.month:02d}"
