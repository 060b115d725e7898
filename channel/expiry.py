"""Points moving with time: pending earnings released once their return window has passed,
available points expiring after their lifetime (oldest first), and what will expire soon.

Both moves are postings through `channel.postings.post`, idempotent by their keys, so a job
run twice (or two at once) moves nothing twice.
"""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.ledger import Balance, Bucket, EntryKind, LedgerEntry
from channel.postings import Line, post


def points_lifetime(months: int) -> timedelta:
    """How long points stay spendable, from POINTS_LIFETIME_MONTHS (average month length)."""
    return timedelta(days=round(months * 30.4375))


def release_due(session: Session, now: datetime) -> int:
    """Move pending earnings whose return window has passed to available; returns how many."""
    released_ids = select(LedgerEntry.refers_to_id).where(
        LedgerEntry.kind.in_((EntryKind.RELEASE, EntryKind.REVERSE)),
        LedgerEntry.bucket == Bucket.PENDING,
    )
    due = session.scalars(
        select(LedgerEntry)
        .where(
            LedgerEntry.kind == EntryKind.EARN,
            LedgerEntry.bucket == Bucket.PENDING,
            LedgerEntry.available_at <= now,
            LedgerEntry.id.not_in(released_ids.where(LedgerEntry.refers_to_id.is_not(None))),
        )
        .order_by(LedgerEntry.id)
    ).all()
    for entry in due:
        common = {
            "partner_id": entry.partner_id,
            "person_id": entry.person_id,
            "to_pool": entry.to_pool,
            "refers_to_id": entry.id,
            "kind": EntryKind.RELEASE,
            "month": entry.month,
        }
        post(
            session,
            f"release:{entry.id}",
            [
                Line(
                    account=entry.account_key, points=-entry.points, bucket=Bucket.PENDING, **common
                ),
                Line(
                    account=entry.account_key,
                    points=entry.points,
                    bucket=Bucket.AVAILABLE,
                    **common,
                ),
            ],
        )
    return len(due)


def expire_points(session: Session, now: datetime, lifetime) -> dict[str, int]:
    """Expire available points older than `lifetime`, oldest first (FIFO by earning date).

    Debits consume the oldest credits first, so what is left of credits older than the
    cutoff is what expires. Idempotent per account and day. Returns points expired per account.
    """
    cutoff = now - lifetime
    expired: dict[str, int] = {}
    accounts = session.scalars(select(Balance.account_key).where(Balance.available > 0)).all()
    for account in accounts:
        lines = _available_lines(session, account)
        stale = _unspent_before(lines, cutoff)
        if stale <= 0:
            continue
        partner_id = lines[-1].partner_id
        person_id = int(account.split(":")[1]) if account.startswith("person:") else None
        post(
            session,
            f"expire:{account}:{now.date().isoformat()}",
            [
                Line(
                    account=account,
                    points=-stale,
                    kind=EntryKind.EXPIRE,
                    partner_id=partner_id,
                    person_id=person_id,
                    to_pool=person_id is None,
                    memo=f"points earned before {cutoff.date().isoformat()} expired",
                )
            ],
        )
        expired[account] = stale
    return expired


def points_expiring(session: Session, account: str, *, by: datetime, lifetime) -> int:
    """Available points of `account` that will have expired by `by` unless spent first:
    what is left, oldest first, of credits earned before `by - lifetime`."""
    return _unspent_before(_available_lines(session, account), by - lifetime)


def expiry_outlook(
    session: Session, account: str, *, by: datetime, lifetime
) -> tuple[int, datetime | None]:
    """`points_expiring`, and when the oldest of those points was earned (None: none expire)."""
    lines = _available_lines(session, account)
    cutoff = by - lifetime
    to_consume = -sum(line.points for line in lines if line.points < 0)
    stale, oldest = 0, None
    for created_at, points, _partner, _id in lines:
        if points <= 0:
            continue
        used = min(points, to_consume)
        to_consume -= used
        if created_at < cutoff and points > used:
            stale += points - used
            oldest = oldest or created_at
    return stale, oldest


def expiring_credits(
    session: Session, account: str, *, by: datetime, lifetime
) -> list[tuple[int, int, datetime]]:
    """The credits of `account` that will (partly) have expired by `by` unless spent first,
    soonest first: (the ledger line's id, its points left, when they expire). The same
    oldest-first arithmetic as `expire_points`, line by line."""
    lines = _available_lines(session, account)
    cutoff = by - lifetime
    to_consume = -sum(line.points for line in lines if line.points < 0)
    expiring = []
    for line in lines:
        if line.points <= 0:
            continue
        used = min(line.points, to_consume)
        to_consume -= used
        if line.created_at < cutoff and line.points > used:
            expiring.append((line.id, line.points - used, line.created_at + lifetime))
    return expiring


def _available_lines(session: Session, account: str):
    return session.execute(
        select(LedgerEntry.created_at, LedgerEntry.points, LedgerEntry.partner_id, LedgerEntry.id)
        .where(LedgerEntry.account_key == account, LedgerEntry.bucket == Bucket.AVAILABLE)
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    ).all()


def _unspent_before(lines, cutoff: datetime) -> int:
    """What is left of credits older than `cutoff` once debits consume the oldest first."""
    to_consume = -sum(line.points for line in lines if line.points < 0)
    stale = 0
    for created_at, points, _partner, _id in lines:
        if points <= 0:
            continue
        used = min(points, to_consume)
        to_consume -= used
        if created_at < cutoff:
            stale += points - used
    return stale
