"""Where a person stands among peers in the same role, in programs that show leaderboards.

Peers are the people enrolled in the program who hold the person's first role (in
`ROLE_ORDER`); standing is by the points each earned in the program (earned less reversed,
to their own account). Equal points share a rank (1, 2, 2, 4).
"""

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from channel.ledger import EARNED_KINDS, LedgerEntry
from channel.models import Enrollment, Program, ProgramStatus
from roles.models import RoleAssignment
from roles.permissions import ROLE_ORDER, Role

#: Reaching one of these ranks is worth a message.
PODIUM = 3


@dataclass(frozen=True)
class Standing:
    program: Program
    role: Role
    rank: int
    #: How many peers are ranked, the person included.
    of: int
    points: int
    #: Points behind the next rank up; None at the top.
    behind: int | None


def peer_role(person) -> Role | None:
    return next((role for role in ROLE_ORDER if role in person.roles), None)


def peer_points(session: Session, program_id: int, role: Role) -> dict[int, int]:
    """Each enrolled peer's points in the program, 0 for those who earned none yet."""
    earned = and_(
        LedgerEntry.person_id == Enrollment.person_id,
        LedgerEntry.program_id == program_id,
        LedgerEntry.kind.in_(EARNED_KINDS),
        LedgerEntry.to_pool.is_(False),
    )
    rows = session.execute(
        select(Enrollment.person_id, func.coalesce(func.sum(LedgerEntry.points), 0))
        .join(
            RoleAssignment,
            and_(
                RoleAssignment.person_id == Enrollment.person_id,
                RoleAssignment.role == role.value,
            ),
        )
        .outerjoin(LedgerEntry, earned)
        .where(Enrollment.program_id == program_id, Enrollment.current)
        .group_by(Enrollment.person_id)
    )
    return {person_id: int(points) for person_id, points in rows}


def standing(session: Session, program: Program, person) -> Standing | None:
    """The person's standing in `program`, or None when it shows no leaderboard or the
    person is not ranked in it."""
    role = peer_role(person)
    if not program.show_leaderboard or role is None:
        return None
    points = peer_points(session, program.id, role)
    if person.id not in points:
        return None
    mine = points[person.id]
    above = sorted({p for p in points.values() if p > mine})
    return Standing(
        program=program,
        role=role,
        rank=1 + sum(1 for p in points.values() if p > mine),
        of=len(points),
        points=mine,
        behind=(above[0] - mine) if above else None,
    )


def standings(session: Session, person) -> list[Standing]:
    """The person's standing in every live program of theirs that shows leaderboards."""
    programs = session.scalars(
        select(Program)
        .join(Enrollment, Enrollment.program_id == Program.id)
        .where(
            Enrollment.person_id == person.id,
            Enrollment.current,
            Program.status == ProgramStatus.ACTIVE,
            Program.show_leaderboard.is_(True),
        )
        .order_by(Program.id)
    ).all()
    found = (standing(session, program, person) for program in programs)
    return [s for s in found if s is not None]
