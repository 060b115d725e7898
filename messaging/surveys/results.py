"""A survey's results: response rates, the NPS by group, each question's distribution, free-text
answers, and claims in the 30 days after answering by NPS group against the held-out people.

Every figure can be narrowed to one partner's people (`partner_id`): a partner manager sees
only their own company's. Rates are read from the invitations (who was asked, who answered,
never what); answers from the responses' coarse attributes (`SurveyResponse.role`, …). An
anonymous survey's response is never joined to a person, and every group of an anonymous
survey smaller than `statistics.MIN_ANONYMOUS_GROUP` is left out (`shown`).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from channel.claim_models import Claim, ClaimStatus
from channel.dashboards import percent
from channel.partner_models import PartnerOrganization
from messaging.campaigns.results import Delivery, delivery, plus_days
from messaging.surveys.models import (
    InvitationState,
    QuestionKind,
    Survey,
    SurveyAnswer,
    SurveyAnswerChoice,
    SurveyChoice,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
)
from messaging.surveys.statistics import Nps, nps, nps_group, shown
from roles.models import Person, RoleAssignment
from roles.permissions import ROLE_ORDER

#: The groups a survey is broken down by.
DIMENSIONS = ("channel", "role", "partner", "country", "language")
#: Claims are counted this many days after a person answered (or was held out).
AFTER_DAYS = 30
#: At most this many free-text answers are listed on a page.
MAX_TEXTS = 50
#: The SCALES a distribution lists every value of (a value nobody gave shows as 0).
SCALES = {QuestionKind.NPS: range(0, 11), QuestionKind.RATING: range(1, 6)}
#: Per-person means keep two decimals.
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Rate:
    #: The channel, role, partner id, country or language; "" when unknown.
    group: str | int
    invited: int
    answered: int

    @property
    def share(self) -> Decimal | None:
        return percent(self.answered, self.invited)


@dataclass(frozen=True)
class GroupNps:
    group: str | int
    nps: Nps


@dataclass(frozen=True)
class Distribution:
    question: SurveyQuestion
    #: Answers to this question (people who answered it).
    answers: int
    #: [(value or choice id, count)] in the scale's or the choices' order.
    counts: list[tuple[int, int]] = field(default_factory=list)
    #: NUMBER and RATING: the mean; CATEGORY_SHARE: the share of ours, in percent.
    mean: Decimal | None = None
    #: CATEGORY_SHARE: units of the category, and of ours.
    units: int = 0
    ours: int = 0
    nps: Nps | None = None

    @property
    def share(self) -> Decimal | None:
        return percent(self.ours, self.units)


@dataclass(frozen=True)
class FreeText:
    text: str
    language: str
    #: "" when it would point at a person (an anonymous survey's small role).
    role: str
    submitted_on: date
    #: Not anonymous only.
    person_name: str | None
    question_id: int


@dataclass(frozen=True)
class ClaimsAfter:
    #: "promoter", "passive", "detractor", "not_answered" or "held_out".
    group: str
    people: int
    claims: int

    @property
    def per_person(self) -> Decimal | None:
        if not self.people:
            return None
        return (Decimal(self.claims) / self.people).quantize(CENT)


@dataclass(frozen=True)
class Results:
    survey: Survey
    partner_id: int | None
    invited: int
    answered: int
    held_out: int
    responses: int
    #: Whether the whole survey has enough answers to show anything of them.
    answers_shown: bool
    rates: dict[str, list[Rate]]
    nps: Nps | None
    nps_by: dict[str, list[GroupNps]]
    distributions: list[Distribution]
    #: Empty for an anonymous survey (no answer is joined to a person).
    after: list[ClaimsAfter]
    #: What became of its messages (questions, invitations, reminders): delivered, read…
    delivery: Delivery | None = None

    @property
    def response_rate(self) -> Decimal | None:
        return percent(self.answered, self.invited)


def _role_rank():
    """A person's primary role as its place in ROLE_ORDER (the first of theirs)."""
    rank = case({r.value: i for i, r in enumerate(ROLE_ORDER)}, value=RoleAssignment.role)
    return (
        select(RoleAssignment.person_id, func.min(rank).label("rank"))
        .group_by(RoleAssignment.person_id)
        .subquery()
    )


def _invited(survey_id: int, partner_id: int | None, *columns):
    stmt = (
        select(*columns)
        .select_from(SurveyInvitation)
        .join(Person, Person.id == SurveyInvitation.person_id)
    )
    stmt = stmt.where(SurveyInvitation.survey_id == survey_id)
    if partner_id is not None:
        stmt = stmt.where(Person.partner_id == partner_id)
    return stmt


def response_rates(
    session: Session, survey: Survey, partner_id: int | None
) -> dict[str, list[Rate]]:
    """Per dimension, invited (not held out) and answered people per group."""
    ranks = _role_rank()
    columns = {
        "channel": func.coalesce(SurveyInvitation.channel, ""),
        "role": ranks.c.rank,
        "partner": Person.partner_id,
        "country": func.coalesce(PartnerOrganization.country, ""),
        "language": Person.language,
    }
    answered = func.count(case((SurveyInvitation.state == InvitationState.ANSWERED, 1)))
    rates = {}
    for name, column in columns.items():
        stmt = (
            _invited(survey.id, partner_id, column, func.count(), answered)
            .outerjoin(ranks, ranks.c.person_id == Person.id)
            .outerjoin(PartnerOrganization, PartnerOrganization.id == Person.partner_id)
            .where(SurveyInvitation.state != InvitationState.HELD_OUT)
            .group_by(column)
        )
        rows = []
        for group, invited, done in session.execute(stmt):
            if name == "role":
                group = ROLE_ORDER[group].value if group is not None else ""
            if shown(invited, survey.anonymous):
                rows.append(Rate("" if group is None else group, invited, done))
        rates[name] = sorted(rows, key=lambda r: (-r.invited, str(r.group)))
    return rates


def _responses(survey_id: int, partner_id: int | None, *columns):
    stmt = select(*columns).select_from(SurveyResponse).where(SurveyResponse.survey_id == survey_id)
    if partner_id is not None:
        stmt = stmt.where(SurveyResponse.partner_id == partner_id)
    return stmt


def _response_column(name: str):
    column = getattr(SurveyResponse, "partner_id" if name == "partner" else name)
    return column if name == "partner" else func.coalesce(column, "")


def nps_by_group(
    session: Session, survey: Survey, question: SurveyQuestion, partner_id: int | None
) -> dict[str, list[GroupNps]]:
    by = {}
    for name in DIMENSIONS:
        column = _response_column(name)
        stmt = (
            _responses(survey.id, partner_id, column, SurveyAnswer.number, func.count())
            .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
            .where(SurveyAnswer.question_id == question.id, SurveyAnswer.number.is_not(None))
            .group_by(column, SurveyAnswer.number)
        )
        counts: dict = defaultdict(lambda: defaultdict(int))
        for group, score, n in session.execute(stmt):
            counts[group][nps_group(score)] += n
        rows = []
        for group, bands in counts.items():
            result = nps(bands["promoter"], bands["passive"], bands["detractor"])
            if shown(result.answers, survey.anonymous):
                rows.append(GroupNps("" if group is None else group, result))
        by[name] = sorted(rows, key=lambda r: (-r.nps.answers, str(r.group)))
    return by


def distribution(
    session: Session, survey: Survey, question: SurveyQuestion, partner_id: int | None
) -> Distribution:
    answered = (
        _responses(survey.id, partner_id)
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .where(SurveyAnswer.question_id == question.id)
    )
    kind = question.kind
    if kind in SCALES or kind == QuestionKind.NUMBER:
        found = dict(
            session.execute(
                answered.with_only_columns(SurveyAnswer.number, func.count())
                .where(SurveyAnswer.number.is_not(None))
                .group_by(SurveyAnswer.number)
            ).all()
        )
        total = sum(found.values())
        mean = (
            (Decimal(sum(v * n for v, n in found.items())) / total).quantize(CENT)
            if total
            else None
        )
        if kind == QuestionKind.NUMBER:
            return Distribution(question, total, sorted(found.items()), mean=mean)
        counts = [(value, found.get(value, 0)) for value in SCALES[kind]]
        result = nps(*_bands(found)) if kind == QuestionKind.NPS else None
        return Distribution(question, total, counts, mean=mean, nps=result)
    if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
        found = dict(
            session.execute(
                answered.with_only_columns(SurveyAnswerChoice.choice_id, func.count())
                .join(SurveyAnswerChoice, SurveyAnswerChoice.answer_id == SurveyAnswer.id)
                .group_by(SurveyAnswerChoice.choice_id)
            ).all()
        )
        total = session.scalar(answered.with_only_columns(func.count(SurveyAnswer.id)))
        return Distribution(question, total, [(c.id, found.get(c.id, 0)) for c in question.choices])
    if kind == QuestionKind.CATEGORY_SHARE:
        total, units, ours = session.execute(
            answered.with_only_columns(
                func.count(SurveyAnswer.id),
                func.coalesce(func.sum(SurveyAnswer.number), 0),
                func.coalesce(func.sum(SurveyAnswer.number_ours), 0),
            ).where(SurveyAnswer.number_ours.is_not(None))
        ).one()
        return Distribution(question, total, units=int(units), ours=int(ours))
    total = session.scalar(answered.with_only_columns(func.count(SurveyAnswer.id)))
    return Distribution(question, total)


def _bands(found: dict[int, int]) -> tuple[int, int, int]:
    bands = defaultdict(int)
    for score, n in found.items():
        bands[nps_group(score)] += n
    return bands["promoter"], bands["passive"], bands["detractor"]


def free_texts(
    session: Session, survey: Survey, partner_id: int | None, search: str = ""
) -> list[FreeText]:
    """Free-text answers, newest first, those holding `search` (any case) when given."""
    columns = [
        SurveyAnswer.text,
        SurveyResponse.language,
        SurveyResponse.role,
        SurveyResponse.submitted_on,
        SurveyAnswer.question_id,
    ]
    stmt = (
        _responses(survey.id, partner_id, *columns)
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
        .where(SurveyQuestion.kind == QuestionKind.FREE_TEXT, SurveyAnswer.text.is_not(None))
        .order_by(SurveyResponse.submitted_on.desc(), SurveyAnswer.id.desc())
        .limit(MAX_TEXTS)
    )
    if search.strip():
        stmt = stmt.where(SurveyAnswer.text.icontains(search.strip(), autoescape=True))
    if survey.anonymous:
        # Never joined to a person; a role only where enough people of it answered.
        roles = dict(
            session.execute(
                _responses(survey.id, partner_id, SurveyResponse.role, func.count()).group_by(
                    SurveyResponse.role
                )
            ).all()
        )
        return [
            FreeText(text, language, role if shown(roles.get(role, 0), True) else "", on, None, q)
            for text, language, role, on, q in session.execute(stmt)
        ]
    stmt = stmt.add_columns(Person.full_name).outerjoin(
        Person, Person.id == SurveyResponse.person_id
    )
    return [FreeText(*row[:4], row[5], row[4]) for row in session.execute(stmt)]


def claims_after(
    session: Session, survey: Survey, question: SurveyQuestion, partner_id: int | None
) -> list[ClaimsAfter]:
    """Claims (not rejected) per person in the AFTER_DAYS after answering, by NPS group; the
    invited who never answered and the held-out people from when they were invited."""

    def claims_since(person, moment):
        return and_(
            Claim.person_id == person,
            Claim.created_at >= moment,
            Claim.created_at < plus_days(moment, AFTER_DAYS),
            Claim.status != ClaimStatus.REJECTED,
        )

    answered = (
        _responses(
            survey.id, partner_id, SurveyResponse.id, SurveyAnswer.number, func.count(Claim.id)
        )
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .outerjoin(Claim, claims_since(SurveyResponse.person_id, SurveyResponse.submitted_at))
        .where(
            SurveyAnswer.question_id == question.id,
            SurveyAnswer.number.is_not(None),
            SurveyResponse.person_id.is_not(None),
        )
        .group_by(SurveyResponse.id, SurveyAnswer.number)
    )
    groups = {g: [0, 0] for g in ("promoter", "passive", "detractor", "not_answered", "held_out")}
    for _id, score, claims in session.execute(answered):
        group = groups[nps_group(score)]
        group[0], group[1] = group[0] + 1, group[1] + claims
    others = case(
        (SurveyInvitation.state == InvitationState.HELD_OUT, "held_out"), else_="not_answered"
    )
    per_person = (
        _invited(
            survey.id,
            partner_id,
            SurveyInvitation.id,
            others.label("g"),
            func.count(Claim.id).label("n"),
        )
        .outerjoin(Claim, claims_since(SurveyInvitation.person_id, SurveyInvitation.invited_at))
        .where(SurveyInvitation.state != InvitationState.ANSWERED)
        .group_by(SurveyInvitation.id, others)
        .subquery()
    )
    for group, people, claims in session.execute(
        select(per_person.c.g, func.count(), func.coalesce(func.sum(per_person.c.n), 0)).group_by(
            per_person.c.g
        )
    ):
        groups[group] = [people, int(claims)]
    return [ClaimsAfter(g, people, claims) for g, (people, claims) in groups.items()]


def survey_results(session: Session, survey: Survey, partner_id: int | None = None) -> Results:
    counts = dict(
        session.execute(
            _invited(survey.id, partner_id, SurveyInvitation.state, func.count()).group_by(
                SurveyInvitation.state
            )
        ).all()
    )
    held_out = counts.get(InvitationState.HELD_OUT, 0)
    responses = session.scalar(_responses(survey.id, partner_id, func.count(SurveyResponse.id)))
    answers_shown = shown(responses, survey.anonymous)
    first_nps = next((q for q in survey.questions if q.kind == QuestionKind.NPS), None)
    distributions = []
    if answers_shown:
        distributions = [
            d
            for q in survey.questions
            if q.kind != QuestionKind.FREE_TEXT
            for d in [distribution(session, survey, q, partner_id)]
            if shown(d.answers, survey.anonymous)
        ]
    overall = next((d.nps for d in distributions if d.question is first_nps), None)
    return Results(
        survey=survey,
        partner_id=partner_id,
        invited=sum(counts.values()) - held_out,
        answered=counts.get(InvitationState.ANSWERED, 0),
        held_out=held_out,
        responses=responses,
        answers_shown=answers_shown,
        rates=response_rates(session, survey, partner_id),
        nps=overall,
        nps_by=nps_by_group(session, survey, first_nps, partner_id)
        if first_nps is not None and answers_shown
        else {},
        distributions=distributions,
        after=claims_after(session, survey, first_nps, partner_id)
        if first_nps is not None and not survey.anonymous
        else [],
        delivery=delivery(session, survey.source, partner_id),
    )


# ---------------------------------------------------------------- finding surveys


def surveys_with_answers(
    session: Session, partner_id: int | None = None
) -> list[tuple[Survey, int]]:
    """Surveys that have been opened, newest first, with their responses; for a partner, only
    surveys that are not anonymous and invited some of its people."""
    responses = _count_responses(partner_id)
    stmt = (
        select(Survey, func.coalesce(responses.c.n, 0))
        .outerjoin(responses, responses.c.survey_id == Survey.id)
        .where(Survey.opened_at.is_not(None))
        .order_by(Survey.opened_at.desc(), Survey.id.desc())
    )
    if partner_id is not None:
        invited = (
            select(SurveyInvitation.survey_id)
            .join(Person, Person.id == SurveyInvitation.person_id)
            .where(
                Person.partner_id == partner_id,
                SurveyInvitation.state != InvitationState.HELD_OUT,
            )
        )
        stmt = stmt.where(Survey.anonymous.is_(False), Survey.id.in_(invited))
    return [(survey, n) for survey, n in session.execute(stmt)]


def _count_responses(partner_id: int | None):
    stmt = select(SurveyResponse.survey_id, func.count().label("n")).group_by(
        SurveyResponse.survey_id
    )
    if partner_id is not None:
        stmt = stmt.where(SurveyResponse.partner_id == partner_id)
    return stmt.subquery()


def survey_for(session: Session, survey_id: int, partner_id: int | None = None) -> Survey | None:
    """The survey, if the viewer may see its results: any for the manufacturer's people; for a
    partner's, one of `surveys_with_answers(partner_id)`."""
    survey = session.get(Survey, survey_id)
    if survey is None or survey.opened_at is None:
        return None
    if partner_id is None:
        return survey
    if survey.anonymous or not session.scalar(
        _invited(survey.id, partner_id, func.count()).where(
            SurveyInvitation.state != InvitationState.HELD_OUT
        )
    ):
        return None
    return survey


def partner_names(session: Session, ids) -> dict[int, str]:
    ids = [i for i in set(ids) if isinstance(i, int)]
    if not ids:
        return {}
    return dict(
        session.execute(
            select(PartnerOrganization.id, PartnerOrganization.name).where(
                PartnerOrganization.id.in_(ids)
            )
        ).all()
    )


def choice_words(question: SurveyQuestion) -> dict[int, SurveyChoice]:
    return {c.id: c for c in question.choices}
