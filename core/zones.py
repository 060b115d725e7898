"""Time zones and people's days: moments are stored in UTC and read in a person's own zone.

A person's day ("today" on a claim form, "the date cannot be in the future") is the calendar
day on the wall where they are, not in UTC: at 00:30 in Jerusalem it is already tomorrow there
while UTC is still on yesterday. Bookkeeping days (months of the ledger, rebate periods, the
close of a period) stay UTC days; they are nobody's wall clock.
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone_named(name: str | None) -> ZoneInfo:
    """The IANA zone `name`; UTC when the name is empty or unknown to this machine."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def day_in(zone: ZoneInfo, moment: datetime) -> date:
    """The calendar day that `moment` (aware) falls on in `zone`."""
    return moment.astimezone(zone).date()


def noon_utc(day: date) -> datetime:
    """The moment standing for a whole day whose hour nobody gave (a claimed sale's day): its
    noon in UTC, which falls on that same day in every zone from UTC−11 to UTC+11."""
    return datetime.combine(day, time(12), tzinfo=UTC)
