"""A partner's company pool: management hands its points to its own staff, each transfer posted."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.ledger import LedgerEntry
from channel.postings import InsufficientPoints, Line, person_account, pool_account, post
from channel.programs import MAX_POINTS
from core.errors import InvalidInput


def distribute(
    session: Session, partner, recipient, points: int, *, actor_id: int, note: str, request_key: str
) -> list[LedgerEntry]:
    """Move `points` from the partner's pool to one of its people, with who did it and why."""
    errors = {}
    if recipient is None or recipient.partner_id != partner.id or not recipient.active:
        errors["person"] = _l("Choose one of your active staff.")
    if points is None or points <= 0:
        errors["points"] = _l("Give a number of points above zero.")
    elif points > MAX_POINTS:
        # Beyond what the balance columns hold, the database would refuse it mid-posting.
        errors["points"] = _l("Must be at most %(max)s.", max=MAX_POINTS)
    note = " ".join((note or "").split())
    if not note:
        errors["note"] = _l("Say what the points are for: your staff and the manufacturer see it.")
    if errors:
        raise InvalidInput(errors)
    memo = note[:255]
    common = {
        "kind": "transfer",
        "partner_id": partner.id,
        "memo": memo,
        "reason": {"by": actor_id},
    }
    try:
        return post(
            session,
            f"pool:{request_key}",
            [
                Line(account=pool_account(partner.id), points=-points, to_pool=True, **common),
                Line(
                    account=person_account(recipient.id),
                    points=points,
                    person_id=recipient.id,
                    **common,
                ),
            ],
        )
    except InsufficientPoints:
        raise InvalidInput({"points": _l("The pool does not hold that many points.")}) from None


def pool_history(session: Session, partner) -> list[LedgerEntry]:
    """Every line that moved the partner's pool, newest first."""
    return list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.account_key == pool_account(partner.id))
            .order_by(LedgerEntry.id.desc())
            .limit(200)
        )
    )
