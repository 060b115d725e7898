"""The control group: who is held out of a source (a trigger or a campaign), chosen once.

The first time a person would get a source's message, a draw decides whether they are
treated or held out, and a `Treatment` row records it; every later message of that source
follows the record. Results compare what both groups did afterwards (`groups`).
"""

import random

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.bulk import in_values, insert_new
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


def held_out_among(
    session: Session, source: str, person_ids, *, holdout_percent: int, rng=None
) -> set[int]:
    """Who among `person_ids` is held out of `source`: `treatment` for many people at once,
    drawing for those with no assignment yet."""
    ids = sorted(set(person_ids))
    if not ids:
        return set()
    held = _assignments(session, source, ids)
    draws = rng or _draws
    now = utcnow()
    new = [
        {
            "source": source,
            "person_id": person_id,
            "held_out": draws.randrange(100) < holdout_percent,
            "at": now,
        }
        for person_id in ids
        if person_id not in held
    ]
    written = {
        person_id
        for (person_id,) in insert_new(
            session, Treatment.__table__, new, [Treatment.__table__.c.person_id]
        )
    }
    held.update((row["person_id"], row["held_out"]) for row in new if row["person_id"] in written)
    # Drawn meanwhile by a concurrent transaction: theirs stands.
    lost = [row["person_id"] for row in new if row["person_id"] not in written]
    if lost:
        held.update(_assignments(session, source, lost))
    return {person_id for person_id, held_out in held.items() if held_out}


def _assignments(session: Session, source: str, person_ids: list[int]) -> dict[int, bool]:
    return dict(
        session.execute(
            select(Treatment.person_id, Treatment.held_out).where(
                Treatment.source == source, in_values(session, Treatment.person_id, person_ids)
            )
        ).all()
    )


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
