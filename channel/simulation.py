"""What a program would have paid over a past period: points and cost per partner and role.

Runs the program's current rules through the same engine over the activities recorded in
[since, until), as if every targeted partner had approved it for all roles and everyone
eligible were enrolled. Nothing is written.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel import rules as engine
from channel.earning import engine_terms, product_facts
from channel.ledger import Activity, activity_event
from channel.models import Program
from channel.partner_models import PartnerOrganization
from channel.programs import targeted_partners
from channel.schemes import SchemeDetails, check_scheme, save_scheme
from roles.models import Person


@dataclass
class PartnerProjection:
    partner: PartnerOrganization
    points: int = 0
    cost: Decimal = Decimal(0)
    #: role label (a role, several joined by "+", or "company") -> points, as the engine
    #: labels its awards
    by_role: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: role label -> the people who would earn under it (see `earning_labels`)
    people_by_role: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def per_person(self, role: str) -> int:
        people = self.people_by_role.get(role, 0)
        return self.by_role.get(role, 0) // people if people else 0

    def labels(self, roles=()) -> list[str]:
        """The role labels that earn or have people, with `roles` (shown even when empty)."""
        found = (set(roles) | set(self.people_by_role) | set(self.by_role)) - {"company"}
        return sorted(found, key=lambda label: (label.count("+"), label))


def earning_labels(schemes, roles: frozenset[str]) -> set[str]:
    """The labels a person holding `roles` would earn under, as the engine pays them: in each
    scheme for people, the roles they hold that it targets, joined by "+". One person counts
    once under each label, however many schemes pay them under it."""
    return {
        "+".join(sorted(roles & scheme.roles))
        for scheme in schemes
        if not scheme.company_level and roles & scheme.roles
    }


@dataclass
class Projection:
    since: datetime
    until: datetime
    partners: list[PartnerProjection]
    activities: int = 0

    @property
    def points(self) -> int:
        return sum(p.points for p in self.partners)

    @property
    def cost(self) -> Decimal:
        return sum((p.cost for p in self.partners), Decimal(0))


def simulate(
    session: Session,
    program: Program,
    since: datetime,
    until: datetime,
    partners: list[PartnerOrganization] | None = None,
) -> Projection:
    base = engine_terms(session, program, program.version, active=True)
    terms = engine.Terms(**{**base.__dict__, "starts_at": since, "ends_at": until})
    partners = partners if partners is not None else targeted_partners(session, program)
    projection = Projection(since, until, [])
    usage = engine.Usage()
    for partner in partners:
        result = PartnerProjection(partner)
        approval = engine.Approval(tier_code=partner.tier.code if partner.tier else None)
        people = {
            p.id: p
            for p in session.scalars(
                select(Person).where(Person.partner_id == partner.id, Person.active.is_(True))
            )
        }
        for person in people.values():
            for label in earning_labels(terms.schemes, frozenset(r.value for r in person.roles)):
                result.people_by_role[label] += 1
        activities = session.scalars(
            select(Activity)
            .where(
                Activity.partner_id == partner.id,
                Activity.occurred_at >= since,
                Activity.occurred_at < until,
            )
            .order_by(Activity.occurred_at, Activity.id)
        )
        for activity in activities:
            projection.activities += 1
            person = people.get(activity.person_id)
            participant = (
                engine.Participant(person.id, partner.id, frozenset(r.value for r in person.roles))
                if person
                else None
            )
            group, unit_points = product_facts(session, activity.sku)
            outcome = engine.evaluate(
                activity_event(activity, group, unit_points), terms, approval, participant, usage
            )
            for award in outcome.awards:
                label = "+".join(award.reason.get("roles", [])) or "company"
                result.by_role[label] += award.points
                result.points += award.points
                result.cost += award.points * terms.point_value + (award.money or Decimal(0))
        projection.partners.append(result)
    return projection


def partner_estimate(
    session: Session, program: Program, partner: PartnerOrganization
) -> PartnerProjection:
    """Earnings per person and role over the last period as long as the program, from real data."""
    length = program.ends_at - program.starts_at
    until = program.starts_at
    return simulate(session, program, until - length, until, partners=[partner]).partners[0]


@dataclass(frozen=True)
class RoleEstimate:
    #: A role, several joined by "+" (people holding them all, in a scheme for them all), or
    #: "company".
    role: str
    points: int
    #: The people at the targeted partners who would earn under this label (each once; for
    #: "company": the partners).
    people: int

    @property
    def per_person(self) -> int:
        return self.points // self.people if self.people else 0


def program_estimate(session: Session, program: Program) -> tuple[Projection, list[RoleEstimate]]:
    """What the program would have paid each role of every targeted partner over the last
    period as long as the program, from real data (as each partner manager's estimate)."""
    length = program.ends_at - program.starts_at
    projection = simulate(session, program, program.starts_at - length, program.starts_at)
    points: dict[str, int] = defaultdict(int)
    people: dict[str, int] = defaultdict(int)
    for partner in projection.partners:
        for role, earned in partner.by_role.items():
            points[role] += earned
        for role, count in partner.people_by_role.items():
            people[role] += count
    roles = set(people) | set(points)
    estimates = [
        RoleEstimate(
            role,
            points.get(role, 0),
            len(projection.partners) if role == "company" else people.get(role, 0),
        )
        for role in sorted(roles, key=lambda r: (r == "company", r.count("+"), r))
    ]
    return projection, estimates


@dataclass
class SchemePreview:
    """A scheme as entered, not saved: what was wrong with it, or what it would have paid."""

    errors: dict
    #: The scheme's rules as entered (`RuleInput`s), to read in plain words.
    rules: list = field(default_factory=list)
    projection: Projection | None = None
    estimates: list[RoleEstimate] = field(default_factory=list)


def preview_scheme(
    session: Session, program: Program, details: SchemeDetails, *, actor_id: int, existing=None
) -> SchemePreview:
    """The program's estimate per role with the scheme saved as entered (in a savepoint that
    is rolled back: nothing is kept), or the problems that keep it from being saved."""
    errors, _roles = check_scheme(session, program, details, replacing=existing)
    if errors:
        return SchemePreview(errors)
    savepoint = session.begin_nested()
    try:
        save_scheme(session, program, details, actor_id=actor_id, existing=existing)
        projection, estimates = program_estimate(session, program)
    finally:
        savepoint.rollback()
    session.expire_all()
    return SchemePreview({}, list(details.rules), projection, estimates)
