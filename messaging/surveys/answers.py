"""Answers: a reply or a form field read as a question's value (pure), and a person's answers
written as one response.

A value is JSON: an int (NPS, rating, number), a list of choice ids (single and multiple
choice), a string (free text) or [units, ours] (share of category sales). `None` stands for
a question skipped.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from messaging.commands import ascii_digits, fold
from messaging.surveys.models import (
    QuestionKind,
    Survey,
    SurveyAnswer,
    SurveyAnswerChoice,
    SurveyQuestion,
    SurveyResponse,
)
from messaging.surveys.texts import choice_label, range_of

#: The longest free-text answer kept.
MAX_TEXT = 2000
#: The largest number accepted anywhere (the column is a 32-bit integer).
MAX_NUMBER = 2_000_000_000
_NUMBER = re.compile(r"^[+-]?\d+$")
_SEPARATORS = re.compile(r"[\s,;/+&]+")


class Unreadable(ValueError):
    """The reply is no answer to the question (out of range, not a number, no such choice)."""


def _integer(token: str) -> int:
    token = ascii_digits(token).strip().strip(".!")
    if not _NUMBER.match(token):
        raise Unreadable(token)
    value = int(token)
    if abs(value) > MAX_NUMBER:
        raise Unreadable(token)
    return value


def _in_range(question: SurveyQuestion, value: int) -> int:
    low, high = range_of(question)
    if (low is not None and value < low) or (high is not None and value > high):
        raise Unreadable(str(value))
    return value


def _choice(question: SurveyQuestion, token: str, language: str, default: str) -> int:
    """A choice's id from its number or its word in the reader's language (or the default)."""
    digits = ascii_digits(token).strip()
    if digits.isdigit():
        for choice in question.choices:
            if choice.position == int(digits):
                return choice.id
        raise Unreadable(token)
    wanted = fold(token).strip(".!?\"'«»")
    for choice in question.choices:
        words = {choice_label(choice, language, default), choice_label(choice, default, default)}
        if wanted and wanted in {fold(word) for word in words if word}:
            return choice.id
    raise Unreadable(token)


def parse_reply(question: SurveyQuestion, reply: str, language: str, default: str):
    """The value of `reply` for `question`; raises Unreadable."""
    reply = (reply or "").strip()
    if not reply:
        raise Unreadable(reply)
    kind = question.kind
    if kind == QuestionKind.FREE_TEXT:
        return reply[:MAX_TEXT]
    if kind == QuestionKind.SINGLE_CHOICE:
        try:
            return [_choice(question, reply, language, default)]
        except Unreadable:
            return [_choice(question, _SEPARATORS.split(reply)[0], language, default)]
    if kind == QuestionKind.MULTIPLE_CHOICE:
        try:  # a choice's whole words first: labels may hold spaces
            return [_choice(question, reply, language, default)]
        except Unreadable:
            tokens = [token for token in _SEPARATORS.split(reply) if token]
            return sorted({_choice(question, token, language, default) for token in tokens})
    if kind == QuestionKind.CATEGORY_SHARE:
        tokens = [token for token in _SEPARATORS.split(ascii_digits(reply)) if token]
        if len(tokens) != 2:
            raise Unreadable(reply)
        units, ours = _integer(tokens[0]), _integer(tokens[1])
        if units < 0 or not 0 <= ours <= units:
            raise Unreadable(reply)
        return [units, ours]
    return _in_range(question, _integer(reply.split()[0] if reply.split() else reply))


def check_value(question: SurveyQuestion, value):
    """A value from the answer page, checked as a reply would be; None when left empty."""
    if value in (None, "", []):
        return None
    kind = question.kind
    ids = {choice.id for choice in question.choices}
    if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
        chosen = sorted({int(v) for v in value if str(v).isdigit()})
        if not chosen or not set(chosen) <= ids:
            raise Unreadable(str(value))
        if kind == QuestionKind.SINGLE_CHOICE and len(chosen) != 1:
            raise Unreadable(str(value))
        return chosen
    if kind == QuestionKind.FREE_TEXT:
        text = str(value).strip()[:MAX_TEXT]
        return text or None
    if kind == QuestionKind.CATEGORY_SHARE:
        units, ours = (_integer(str(v)) if str(v).strip() else None for v in value)
        if units is None and ours is None:
            return None
        if units is None or ours is None or units < 0 or not 0 <= ours <= units:
            raise Unreadable(str(value))
        return [units, ours]
    return _in_range(question, _integer(str(value)))


@dataclass(frozen=True)
class Respondent:
    """What a response keeps of the person: themselves only when the survey is not anonymous."""

    person_id: int
    invitation_id: int | None
    channel: str
    role: str
    partner_id: int | None
    country: str
    language: str


def write_response(
    session: Session,
    survey: Survey,
    respondent: Respondent,
    values: dict,
    *,
    complete: bool,
    now: datetime,
) -> SurveyResponse | None:
    """Write the answers ({question id: value}, None for skipped) as one response; nothing
    when no question was answered. An anonymous survey's response holds no person, no
    invitation and no time of day."""
    answered = {int(qid): value for qid, value in values.items() if value is not None}
    if not answered:
        return None
    anonymous = survey.anonymous
    response = SurveyResponse(
        survey_id=survey.id,
        anonymous=anonymous,
        person_id=None if anonymous else respondent.person_id,
        invitation_id=None if anonymous else respondent.invitation_id,
        channel=respondent.channel,
        role=respondent.role,
        partner_id=respondent.partner_id,
        country=respondent.country,
        language=respondent.language,
        complete=complete,
        submitted_on=now.date(),
        submitted_at=None if anonymous else now,
    )
    # The survey's questions as this transaction reads them (an open survey's cannot change).
    kinds = {question.id: question.kind for question in survey.questions}
    session.add(response)
    session.flush()
    answers = []
    for question_id, value in sorted(answered.items()):
        kind = kinds.get(question_id)
        if kind is None:
            continue  # a question removed meanwhile
        answer = SurveyAnswer(response_id=response.id, question_id=question_id)
        if kind == QuestionKind.FREE_TEXT:
            answer.text = value
        elif kind == QuestionKind.CATEGORY_SHARE:
            answer.number, answer.number_ours = value
        elif kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
            pass
        else:
            answer.number = value
        answers.append((answer, kind, value))
    session.add_all(answer for answer, _kind, _value in answers)
    session.flush()  # one INSERT of them all (with their ids returned)
    choices = [
        {"answer_id": answer.id, "choice_id": choice_id}
        for answer, kind, value in answers
        if isinstance(value, list) and kind != QuestionKind.CATEGORY_SHARE
        for choice_id in value
    ]
    if choices:
        session.execute(insert(SurveyAnswerChoice.__table__), choices)
    return response
