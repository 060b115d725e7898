"""Where a person stands among peers in the same role, in programs that show leaderboards.

Peers are the people enrolled in the program who hold the person's first role (in
`ROLE_ORDER`); standing is by the points each earned in the program (earned less reversed,
to their own account). Equal points share a rank (1, 2, 2, 4).
"""

from bisect import bisect_right
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
    return standings_in(session, program, [person]).get(person.id)


def standings_in(session: Session, program: Program, people) -> dict[int, Standing]:
    """`standing` of many people in `program`, the peers' points read once a role:
    {person id: standing} for those ranked."""
    if not program.show_leaderboard:
        return {}
    by_role: dict[Role, list] = {}
    for person in people:
        role = peer_role(person)
        if role is not None:
            by_role.setdefault(role, []).append(person)
    found = {}
    for role, members in by_role.items():
        points = peer_points(session, program.id, role)
        ranked = sorted(points.values())
        for person in members:
            if person.id not in points:
                continue
            mine = points[person.id]
            higher = bisect_right(ranked, mine)  # ranked[higher:] are the points above
            found[person.id] = Standing(
                program=program,
                role=role,
                rank=1 + len(ranked) - higher,
                of=len(points),
                points=mine,
                behind=(ranked[higher] - mine) if higher < len(ranked) else None,
            )
    return found


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
