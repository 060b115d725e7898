"""The control group: who is held out of a source (a trigger or a campaign), chosen once.

The first time a person would get a source's message, a draw decides whether they are
treated or held out, and a `Treatment` row records it; every later message of that source
follows the record. Results compare what both groups did afterwards (`groups`).
"""

import random

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from messaging.models import Treatment

_draws = random.SystemRandom()


def treatment(
    session: Session, source: str, person_id: int, *, holdout_percent: int, rng=None
) -> Treatment:
    """The person's assignment for `source`, drawn now (held out with `holdout_percent`
    percent chance) if they have none yet."""
    existing = _assignment(session, source, person_id)
    if existing is not None:
        return existing
    held_out = (rng or _draws).randrange(100) < holdout_percent
    row = Treatment(source=source, person_id=person_id, held_out=held_out, at=utcnow())
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # drawn meanwhile by a concurrent transaction: theirs stands
        return _assignment(session, source, person_id)
    return row


def is_held_out(session: Session, source: str, person_id: int, *, holdout_percent: int) -> bool:
    return treatment(session, source, person_id, holdout_percent=holdout_percent).held_out


def groups(session: Session, source: str) -> dict[str, list[int]]:
    """Person ids per group for `source`: {"treated": […], "held_out": […]}."""
    result: dict[str, list[int]] = {"treated": [], "held_out": []}
    rows = session.execute(
        select(Treatment.person_id, Treatment.held_out)
        .where(Treatment.source == source)
        .order_by(Treatment.person_id)
    )
    for person_id, held_out in rows:
        result["held_out" if held_out else "treated"].append(person_id)
    return result


def _assignment(session: Session, source: str, person_id: int) -> Treatment | None:
    return session.scalar(
        select(Treatment).where(Treatment.source == source, Treatment.person_id == person_id)
    )
