"""Share of our products in partners' sales, from the surveys' "share of category sales" answers:
units of a category a partner sold in a month, and how many of them were ours.

Only partner managers' and procurement's answers count: they know the company's sales, and
a survey that also reaches other roles does not put their guesses into the figure. A
question asked in a month is about the month before (`submitted_on`'s previous month). When
several people of one partner answer for the same month and category (two managers, or a
manager and procurement), the latest answer stands: they report the same sales, and adding
them up would count them twice. Anonymous responses count too: they keep the partner and
country, which is all a share needs. The channel dashboard shows these figures through a
template global (`results_views`), so `channel` never imports this package.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.dashboards import percent
from core.months import month_key
from messaging.surveys.models import QuestionKind, SurveyAnswer, SurveyQuestion, SurveyResponse
from roles.permissions import Role

#: The roles whose answers make the share.
REPORTING_ROLES = (Role.PARTNER_MANAGER.value, Role.PROCUREMENT.value)


@dataclass(frozen=True)
class Share:
    #: A month key ("2026-11"), a partner id or a country code.
    group: str | int
    units: int
    ours: int

    @property
    def share(self) -> Decimal | None:
        return percent(self.ours, self.units)


@dataclass(frozen=True)
class CategoryShares:
    total: Share
    by_month: list[Share]
    by_partner: list[Share]
    by_country: list[Share]


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _previous_month(day: date) -> date:
    return date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)


def category_shares(
    session: Session,
    first_month: date,
    last_month: date,
    partner_id: int | None = None,
    country: str | None = None,
) -> CategoryShares:
    """The shares for the months first_month…last_month (any day in each), in total and by
    month, partner and country; months, partners and countries without answers are left out."""
    stmt = (
        select(
            SurveyResponse.id,
            SurveyResponse.partner_id,
            SurveyResponse.country,
            SurveyResponse.submitted_on,
            SurveyQuestion.product_group_id,
            SurveyAnswer.number,
            SurveyAnswer.number_ours,
        )
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
        .where(
            SurveyQuestion.kind == QuestionKind.CATEGORY_SHARE,
            SurveyAnswer.number_ours.is_not(None),
            SurveyResponse.partner_id.is_not(None),
            SurveyResponse.role.in_(REPORTING_ROLES),
            SurveyResponse.submitted_on >= _next_month(first_month.replace(day=1)),
            SurveyResponse.submitted_on < _next_month(_next_month(last_month.replace(day=1))),
        )
    )
    if partner_id is not None:
        stmt = stmt.where(SurveyResponse.partner_id == partner_id)
    if country:
        stmt = stmt.where(SurveyResponse.country == country)
    latest: dict[tuple, tuple] = {}
    for response_id, partner, land, on, group, units, ours in session.execute(stmt):
        key = (partner, month_key(_previous_month(on)), group)
        if key not in latest or latest[key][0] < response_id:
            latest[key] = (response_id, land, units, ours)
    sums: dict[str, dict] = {name: defaultdict(lambda: [0, 0]) for name in ("m", "p", "c")}
    for (partner, month, _group), (_id, land, units, ours) in latest.items():
        for name, group in (("m", month), ("p", partner), ("c", land)):
            sums[name][group][0] += units
            sums[name][group][1] += ours

    def rows(name, order):
        found = [Share(group, units, ours) for group, (units, ours) in sums[name].items()]
        return sorted(found, key=order)

    units = sum(u for u, _o in sums["m"].values())
    ours = sum(o for _u, o in sums["m"].values())
    return CategoryShares(
        total=Share("", units, ours),
        by_month=rows("m", lambda s: s.group),
        by_partner=rows("p", lambda s: (-s.units, s.group)),
        by_country=rows("c", lambda s: (-s.units, s.group)),
    )
