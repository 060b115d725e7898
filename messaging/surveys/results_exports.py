"""A survey's results as tables for `channel.exports` (CSV streamed, XLSX): every response with
its answers, and the breakdowns shown on the results page.

Column names are stable identifiers, the same in every language. An anonymous survey's
responses are exported with their answers only (no person, partner, role, country, language
or channel, whose combination could point at one), in no order that follows who answered
when beyond the day; its breakdowns leave out the same small groups as the page.
"""

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.exports import Table
from messaging.surveys.models import (
    QuestionKind,
    Survey,
    SurveyAnswer,
    SurveyAnswerChoice,
    SurveyResponse,
)
from messaging.surveys.results import survey_results
from messaging.surveys.texts import choice_label

TABLES = ("responses", "breakdown")
#: Responses are read this many at a time.
BATCH = 1000


def _column(question) -> str:
    return f"q{question.position}_{question.kind}"


def _value(question, answer: SurveyAnswer | None, choices: list[int], labels: dict[int, str]):
    if answer is None:
        return None
    if question.kind == QuestionKind.FREE_TEXT:
        return answer.text
    if question.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
        return "; ".join(labels.get(c, str(c)) for c in sorted(choices))
    if question.kind == QuestionKind.CATEGORY_SHARE:
        return f"{answer.number_ours}/{answer.number}"
    return answer.number


def _response_rows(session: Session, survey: Survey, partner_id: int | None):
    questions = list(survey.questions)
    labels = {
        c.id: choice_label(c, survey.default_language, survey.default_language)
        for q in questions
        for c in q.choices
    }
    stmt = select(SurveyResponse).where(SurveyResponse.survey_id == survey.id)
    if partner_id is not None:
        stmt = stmt.where(SurveyResponse.partner_id == partner_id)
    after = 0
    number = 0
    while True:
        batch = session.scalars(
            stmt.where(SurveyResponse.id > after).order_by(SurveyResponse.id).limit(BATCH)
        ).all()
        if not batch:
            return
        ids = [r.id for r in batch]
        answers = {
            (a.response_id, a.question_id): a
            for a in session.scalars(select(SurveyAnswer).where(SurveyAnswer.response_id.in_(ids)))
        }
        taken = defaultdict(list)
        for answer_id, choice_id in session.execute(
            select(SurveyAnswerChoice.answer_id, SurveyAnswerChoice.choice_id)
            .join(SurveyAnswer, SurveyAnswer.id == SurveyAnswerChoice.answer_id)
            .where(SurveyAnswer.response_id.in_(ids))
        ):
            taken[answer_id].append(choice_id)
        for response in batch:
            number += 1
            values = []
            for q in questions:
                answer = answers.get((response.id, q.id))
                values.append(_value(q, answer, taken[answer.id] if answer else [], labels))
            if survey.anonymous:
                yield [number, response.submitted_on, response.complete, *values]
            else:
                yield [
                    response.id,
                    response.person_id,
                    response.submitted_at,
                    response.channel,
                    response.role,
                    response.partner_id,
                    response.country,
                    response.language,
                    response.complete,
                    *values,
                ]
        after = ids[-1]


def responses_table(session: Session, survey_id: int, partner_id: int | None = None) -> Table:
    survey = session.get(Survey, survey_id)
    columns = [_column(q) for q in survey.questions]
    if survey.anonymous:
        header = ["number", "submitted_on", "complete", *columns]
    else:
        header = [
            "response_id",
            "person_id",
            "submitted_at",
            "channel",
            "role",
            "partner_id",
            "country",
            "language",
            "complete",
            *columns,
        ]
    return Table("responses", header, _response_rows(session, survey, partner_id))


def breakdown_table(session: Session, survey_id: int, partner_id: int | None = None) -> Table:
    """Per dimension and group: invited, answered, the response rate, and the NPS of the first
    NPS question with its interval (empty where the group is not shown)."""
    survey = session.get(Survey, survey_id)
    results = survey_results(session, survey, partner_id)
    rows = []
    for dimension, rates in results.rates.items():
        by_group = {g.group: g.nps for g in results.nps_by.get(dimension, [])}
        for rate in rates:
            score = by_group.pop(rate.group, None)
            rows.append(
                [dimension, rate.group, rate.invited, rate.answered, rate.share, *_nps(score)]
            )
        for group, score in by_group.items():
            rows.append([dimension, group, None, None, None, *_nps(score)])
    header = [
        "dimension",
        "group",
        "invited",
        "answered",
        "response_rate_percent",
        "nps_answers",
        "promoters",
        "passives",
        "detractors",
        "nps",
        "nps_low_95",
        "nps_high_95",
    ]
    return Table("breakdown", header, rows)


def _nps(score) -> list:
    if score is None:
        return [None] * 7
    return [
        score.answers,
        score.promoters,
        score.passives,
        score.detractors,
        score.score,
        score.low,
        score.high,
    ]
