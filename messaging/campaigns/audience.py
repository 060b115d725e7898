"""Who a campaign reaches: the segment filters as one query over people, read in chunks.

Only active people of active partners are ever selected (the manufacturer's own staff belong
to no partner and are never in a segment). An empty filter does not restrict. The query is
read by keyset pages on the person's id, so a segment of any size streams in constant memory.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from channel.claim_models import Claim
from channel.models import Enrollment, Program, ProgramStatus
from channel.partner_models import PartnerOrganization, PartnerStatus, Tier
from core.states import State
from messaging.models import Treatment
from roles.models import Person, RoleAssignment


class ClaimActivity(State):
    """The activity filter: people by whether they claimed anything in the last days."""

    ANY = "", _l("Anyone")
    IDLE = "idle", _l("No claim in the last days")
    ACTIVE = "active", _l("At least one claim in the last days")


@dataclass(frozen=True)
class SegmentFilters:
    roles: tuple[str, ...] = ()
    partner_ids: tuple[int, ...] = ()
    tier_ids: tuple[int, ...] = ()
    countries: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    program_ids: tuple[int, ...] = ()
    #: "idle": no claim in the last `activity_days`; "active": at least one; "": either.
    activity: str = ClaimActivity.ANY
    activity_days: int = 30

    @classmethod
    def from_json(cls, data: dict | None) -> "SegmentFilters":
        data = data or {}
        return cls(
            roles=tuple(data.get("roles") or ()),
            partner_ids=tuple(int(i) for i in data.get("partner_ids") or ()),
            tier_ids=tuple(int(i) for i in data.get("tier_ids") or ()),
            countries=tuple(data.get("countries") or ()),
            languages=tuple(data.get("languages") or ()),
            program_ids=tuple(int(i) for i in data.get("program_ids") or ()),
            activity=data.get("activity") or "",
            activity_days=int(data.get("activity_days") or 30),
        )

    def to_json(self) -> dict:
        return {
            "roles": list(self.roles),
            "partner_ids": list(self.partner_ids),
            "tier_ids": list(self.tier_ids),
            "countries": list(self.countries),
            "languages": list(self.languages),
            "program_ids": list(self.program_ids),
            "activity": self.activity,
            "activity_days": self.activity_days,
        }


#: The columns a campaign message needs of each person, read in one pass.
RECIPIENT_COLUMNS = (
    Person.id,
    Person.full_name,
    Person.phone,
    Person.email,
    Person.language,
    Person.preferred_channel,
)


def _within(column, ids: tuple[int, int | None] | None) -> list:
    """`column` in the id range (low, high]; high None: no end."""
    if ids is None:
        return []
    low, high = ids
    return [column > low] + ([column <= high] if high is not None else [])


def segment_conditions(
    filters: SegmentFilters, now: datetime, ids: tuple[int, int | None] | None = None
) -> list:
    """The filters as conditions on Person and PartnerOrganization, within the id range
    `ids` if given. The range is repeated inside every correlated subquery: PostgreSQL does
    not carry a range across a join, and without it each chunk's semi-joins would scan their
    tables from the first id, which makes a large send quadratic."""
    conditions = [Person.active.is_(True), PartnerOrganization.status == PartnerStatus.ACTIVE]
    conditions += _within(Person.id, ids)
    if filters.roles:
        conditions.append(
            exists().where(
                RoleAssignment.person_id == Person.id,
                RoleAssignment.role.in_(filters.roles),
                *_within(RoleAssignment.person_id, ids),
            )
        )
    if filters.partner_ids:
        conditions.append(Person.partner_id.in_(filters.partner_ids))
    if filters.tier_ids:
        conditions.append(PartnerOrganization.tier_id.in_(filters.tier_ids))
    if filters.countries:
        conditions.append(PartnerOrganization.country.in_(filters.countries))
    if filters.languages:
        conditions.append(Person.language.in_(filters.languages))
    if filters.program_ids:
        conditions.append(
            exists().where(
                Enrollment.person_id == Person.id,
                Enrollment.program_id.in_(filters.program_ids),
                Enrollment.current,
                *_within(Enrollment.person_id, ids),
            )
        )
    if filters.activity in (ClaimActivity.IDLE, ClaimActivity.ACTIVE):
        claimed = exists().where(
            Claim.person_id == Person.id,
            Claim.created_at >= now - timedelta(days=filters.activity_days),
            *_within(Claim.person_id, ids),
        )
        conditions.append(~claimed if filters.activity == ClaimActivity.IDLE else claimed)
    return conditions


def segment_query(filters: SegmentFilters, now: datetime, *columns, ids=None) -> Select:
    return (
        select(*(columns or RECIPIENT_COLUMNS))
        .join(PartnerOrganization, PartnerOrganization.id == Person.partner_id)
        .where(*segment_conditions(filters, now, ids))
    )


def segment_size(session: Session, filters: SegmentFilters, now: datetime) -> int:
    return session.scalar(segment_query(filters, now, func.count(Person.id)))


def segment_chunks(
    session: Session,
    filters: SegmentFilters,
    now: datetime,
    *,
    size: int = 2000,
    not_treated_by: str | None = None,
) -> Iterator[list]:
    """The segment's people, by id, a range of `size` people ids at a time (a chunk holds
    at most `size`, fewer where the filters leave people out); people already assigned by
    the source `not_treated_by` (treated or held out) are left out, so a rerun adds no one
    twice."""
    last = 0
    while True:
        high = session.scalar(
            select(Person.id).where(Person.id > last).order_by(Person.id).offset(size - 1).limit(1)
        )
        stmt = segment_query(filters, now, ids=(last, high))
        if not_treated_by is not None:
            stmt = stmt.where(
                ~exists().where(
                    Treatment.source == not_treated_by,
                    Treatment.person_id == Person.id,
                    *_within(Treatment.person_id, (last, high)),
                )
            )
        rows = session.execute(stmt.order_by(Person.id)).all()
        if rows:
            yield rows
        if high is None:
            return
        last = high


@dataclass(frozen=True)
class SegmentChoices:
    """What a campaign's segment can be narrowed to, for the campaign form."""

    partners: list[tuple[int, str]]
    tiers: list[tuple[int, str]]
    countries: list[str]
    programs: list[tuple[int, str]]


def segment_choices(session: Session) -> SegmentChoices:
    """Active partners by name, tiers by rank, the partners' countries, programs past draft."""
    partners = session.execute(
        select(PartnerOrganization.id, PartnerOrganization.name)
        .where(PartnerOrganization.status == PartnerStatus.ACTIVE)
        .order_by(PartnerOrganization.name)
    )
    tiers = session.execute(select(Tier.id, Tier.name).order_by(Tier.rank))
    countries = session.scalars(
        select(PartnerOrganization.country).distinct().order_by(PartnerOrganization.country)
    )
    programs = session.execute(
        select(Program.id, Program.name)
        .where(Program.status != ProgramStatus.DRAFT)
        .order_by(Program.name)
    )
    return SegmentChoices(
        partners=[tuple(row) for row in partners],
        tiers=[tuple(row) for row in tiers],
        countries=list(countries),
        programs=[tuple(row) for row in programs],
    )
