"""Where a person's points came from and went: their own ledger lines with what each refers
to (a claim, a rule, a program, a reward), and the points a list of their claims earned.

Read-only and scoped by the person's own account: a page of lines is one query, whatever it
holds (each line's claim, program, reward and their names in the reader's language are
joined in, never loaded line by line), and what expires soon one or two more.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, and_, cast, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from channel.claim_models import Claim
from channel.expiry import expiring_credits
from channel.ledger import Activity, Bucket, EntryKind, LedgerEntry
from channel.models import Program, ProgramText
from channel.postings import person_account
from channel.rewards import Redemption, Reward, RewardText

#: Ledger lines a page of the history shows.
HISTORY_PAGE = 30


@dataclass(frozen=True)
class HistoryLine:
    """One ledger line of the person's, with what it refers to (None where nothing does)."""

    id: int
    created_at: datetime
    kind: str
    bucket: str
    points: int
    #: For a pending earning: when it becomes available.
    available_at: datetime | None
    #: The manager's note of a transfer from the company pool.
    memo: str | None
    rule_kind: str | None
    activity_kind: str | None
    module: str | None
    claim_id: int | None
    claim_kind: str | None
    #: The claim's serial number or invoice number.
    claim_reference: str | None
    program: str | None
    reward: str | None
    #: For a pending earning: whether it has been made available already.
    released: bool = False


def _released():
    """Whether the line in the query is an earning that a release line made available."""
    release = aliased(LedgerEntry)
    return exists().where(release.refers_to_id == LedgerEntry.id, release.kind == EntryKind.RELEASE)


@dataclass(frozen=True)
class Expiring:
    points: int
    expires_at: datetime
    line: HistoryLine


@dataclass(frozen=True)
class PointsHistory:
    lines: list[HistoryLine]
    has_more: bool
    #: Points that expire by the horizon asked for, soonest first, with the line they came from.
    expiring: list[Expiring] = field(default_factory=list)


def _described(person_id: int, language: str):
    """Ledger lines of the person's account with everything their words need, in one SELECT."""
    origin = aliased(LedgerEntry)  # what a release refers to: the earning it makes available
    text = aliased(ProgramText)
    reward_text = aliased(RewardText)
    activity_id = func.coalesce(LedgerEntry.activity_id, origin.activity_id)
    program_id = func.coalesce(LedgerEntry.program_id, origin.program_id)
    return (
        select(
            LedgerEntry.id,
            LedgerEntry.created_at,
            LedgerEntry.kind,
            LedgerEntry.bucket,
            LedgerEntry.points,
            LedgerEntry.available_at,
            LedgerEntry.memo,
            func.coalesce(LedgerEntry.rule_kind, origin.rule_kind).label("rule_kind"),
            Activity.kind.label("activity_kind"),
            Activity.module,
            Claim.id.label("claim_id"),
            Claim.kind.label("claim_kind"),
            func.coalesce(Claim.serial, Claim.invoice_number).label("claim_reference"),
            func.coalesce(text.name, Program.name).label("program"),
            func.coalesce(reward_text.name, Reward.name).label("reward"),
            _released().label("released"),
        )
        .outerjoin(origin, origin.id == LedgerEntry.refers_to_id)
        .outerjoin(Activity, Activity.id == activity_id)
        .outerjoin(Claim, Claim.id == Activity.claim_id)
        .outerjoin(Program, Program.id == program_id)
        .outerjoin(text, and_(text.program_id == Program.id, text.language == language))
        .outerjoin(
            Redemption,
            and_(
                Redemption.person_id == person_id,
                or_(
                    LedgerEntry.posting_key == literal("redeem:") + Redemption.request_key,
                    LedgerEntry.posting_key == literal("refund:") + cast(Redemption.id, String(20)),
                ),
            ),
        )
        .outerjoin(Reward, Reward.id == Redemption.reward_id)
        .outerjoin(
            reward_text,
            and_(reward_text.reward_id == Reward.id, reward_text.language == language),
        )
        .where(
            LedgerEntry.account_key == person_account(person_id),
            # A release is two lines (out of pending, into available): the person reads one.
            or_(LedgerEntry.kind != EntryKind.RELEASE, LedgerEntry.bucket == Bucket.AVAILABLE),
        )
    )


def points_history(
    session: Session,
    person_id: int,
    *,
    language: str,
    page: int = 1,
    per_page: int = HISTORY_PAGE,
    expiring_by: datetime | None = None,
    lifetime=None,
) -> PointsHistory:
    """The person's ledger lines, newest first, one page of them; with `expiring_by` and
    `lifetime`, also the points that will have expired by then unless spent, soonest first."""
    rows = session.execute(
        _described(person_id, language)
        .order_by(LedgerEntry.id.desc())
        .limit(per_page + 1)
        .offset((page - 1) * per_page)
    ).all()
    lines = [HistoryLine(**row._mapping) for row in rows[:per_page]]
    expiring = []
    if expiring_by is not None and lifetime is not None:
        credits = expiring_credits(
            session, person_account(person_id), by=expiring_by, lifetime=lifetime
        )
        if credits:
            described = {
                row.id: HistoryLine(**row._mapping)
                for row in session.execute(
                    _described(person_id, language).where(
                        LedgerEntry.id.in_([entry_id for entry_id, _, _ in credits])
                    )
                )
            }
            expiring = [
                Expiring(points, expires_at, described[entry_id])
                for entry_id, points, expires_at in sorted(credits, key=lambda c: c[2])
            ]
    return PointsHistory(lines, len(rows) > per_page, expiring)


@dataclass(frozen=True)
class ClaimPoints:
    """What one claim earned its claimant, net of what a return took back."""

    points: int = 0
    #: Of them, still pending: the day the last of them becomes available.
    pending_until: datetime | None = None
    #: The cap that cut the points down, when one did ("person_month", "budget", …).
    capped_by: str | None = None


def points_of_claims(session: Session, person_id: int, claim_ids) -> dict[int, ClaimPoints]:
    """The points each of the person's claims earned them (their share, on their account),
    in one query for the whole list."""
    if not claim_ids:
        return {}
    rows = session.execute(
        select(
            Activity.claim_id,
            LedgerEntry.kind,
            LedgerEntry.bucket,
            LedgerEntry.points,
            LedgerEntry.available_at,
            LedgerEntry.reason,
            _released().label("released"),
        )
        .join(Activity, Activity.id == LedgerEntry.activity_id)
        .where(
            Activity.claim_id.in_(list(claim_ids)),
            LedgerEntry.account_key == person_account(person_id),
            LedgerEntry.kind.in_((EntryKind.EARN, EntryKind.REVERSE)),
        )
        .order_by(LedgerEntry.id)
    ).all()
    totals: dict[int, dict] = {}
    for claim_id, kind, bucket, points, available_at, reason, released in rows:
        total = totals.setdefault(claim_id, {"points": 0, "pending_until": None, "capped_by": None})
        total["points"] += points
        if kind == EntryKind.EARN and bucket == Bucket.PENDING and points > 0 and not released:
            total["pending_until"] = max(filter(None, (total["pending_until"], available_at)))
        if kind == EntryKind.EARN and (reason or {}).get("capped_by"):
            total["capped_by"] = reason["capped_by"]
    for total in totals.values():
        if total["points"] <= 0:
            total["pending_until"] = None  # taken back before it became available
    return {claim_id: ClaimPoints(**total) for claim_id, total in totals.items()}
