"""Writing a survey: its settings and words, its questions, opening it (a segment survey is
sent then) and closing it. Every problem of a form is reported at once."""

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import LANGUAGES
from core.errors import InvalidInput
from messaging.campaigns.audience import ClaimActivity, SegmentFilters
from messaging.surveys.answers import MAX_NUMBER
from messaging.surveys.dialogue import expire
from messaging.surveys.links import SurveyLinks
from messaging.surveys.models import (
    OPEN_STATES,
    QuestionKind,
    Survey,
    SurveyChoice,
    SurveyInvitation,
    SurveyQuestion,
    SurveyQuestionText,
    SurveyStatus,
    SurveyText,
    SurveyTrigger,
)
from messaging.surveys.sending import SendReport, send_to_segment
from messaging.variants import sync_variants
from roles.permissions import PARTNER_ROLES

CHOICE_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)
#: The most choices a question offers (a person texts one digit… or two).
MAX_CHOICES = 12
MAX_QUESTIONS = 20


@dataclass
class SurveyDraft:
    name: str
    closes_at: datetime | None
    anonymous: bool = False
    trigger: str = SurveyTrigger.SEGMENT
    trigger_days: int | None = None
    filters: SegmentFilters = field(default_factory=SegmentFilters)
    holdout_percent: int = 0
    default_language: str = "en"
    reminder_after_hours: int | None = None
    #: (language, role or "") -> (title, intro); an empty title and intro is no variant.
    texts: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)


@dataclass
class QuestionDraft:
    kind: str
    #: (language, role or "") -> text; empty texts are no variant.
    texts: dict[tuple[str, str], str] = field(default_factory=dict)
    #: One {language: label} per choice, in order (choice kinds only).
    choices: list[dict[str, str]] = field(default_factory=list)
    minimum: int | None = None
    maximum: int | None = None
    product_group_id: int | None = None


def _editable(survey: Survey) -> dict:
    if survey.status != SurveyStatus.DRAFT:
        return {"status": _l("An open or closed survey cannot change.")}
    return {}


def _check(draft: SurveyDraft, now: datetime) -> dict:
    errors = {}
    if not draft.name.strip():
        errors["name"] = _l("Give the survey a name.")
    if draft.closes_at is None or draft.closes_at <= now:
        errors["closes_at"] = _l("Choose a closing time in the future.")
    if draft.trigger not in set(SurveyTrigger):
        errors["trigger"] = _l("Choose when the survey is sent.")
    if draft.trigger == SurveyTrigger.INACTIVE and not 1 <= (draft.trigger_days or 0) <= 365:
        errors["trigger_days"] = _l("Inactivity is counted over 1 to 365 days.")
    if not 0 <= draft.holdout_percent <= 50:
        errors["holdout_percent"] = _l("The control group is between 0 and 50 percent.")
    if draft.reminder_after_hours is not None and not 1 <= draft.reminder_after_hours <= 720:
        errors["reminder_after_hours"] = _l("Remind after 1 to 720 hours, or never.")
    if (
        draft.filters.activity not in set(ClaimActivity)
        or not 1 <= draft.filters.activity_days <= 365
    ):
        errors["activity_days"] = _l("Activity is counted over 1 to 365 days.")
    if draft.default_language not in LANGUAGES:
        errors["default_language"] = _l("Choose a language.")
    texts = {key: value for key, value in draft.texts.items() if any(v.strip() for v in value)}
    if not texts.get((draft.default_language, ""), ("", ""))[0].strip():
        errors["texts"] = _l("Write the title for everyone in the main language.")
    for language, role in texts:
        if language not in LANGUAGES or (role and role not in PARTNER_ROLES):
            errors["texts"] = _l("Choose a language.")
    return errors


def save_survey(
    session: Session,
    draft: SurveyDraft,
    now: datetime,
    *,
    actor_id: int,
    survey: Survey | None = None,
) -> Survey:
    """Create a survey, or change a draft."""
    errors = _check(draft, now) | (_editable(survey) if survey is not None else {})
    if errors:
        raise InvalidInput(errors)
    if survey is None:
        survey = Survey(
            seed=secrets.randbits(31), created_by_id=actor_id, status=SurveyStatus.DRAFT
        )
        session.add(survey)
    survey.name = draft.name.strip()[:200]
    survey.closes_at = draft.closes_at
    survey.anonymous = draft.anonymous
    survey.trigger = draft.trigger
    survey.trigger_days = draft.trigger_days if draft.trigger == SurveyTrigger.INACTIVE else None
    survey.filters = draft.filters.to_json()
    survey.holdout_percent = draft.holdout_percent
    survey.default_language = draft.default_language
    survey.reminder_after_hours = draft.reminder_after_hours
    wanted = {k: v for k, v in draft.texts.items() if any(part.strip() for part in v)}

    def fill(row: SurveyText, title: str, intro: str) -> None:
        row.title, row.intro = (title.strip() or survey.name)[:200], intro.strip()

    sync_variants(survey.texts, wanted, SurveyText, fill)
    session.flush()
    return survey


def _check_question(survey: Survey, draft: QuestionDraft) -> dict:
    errors = _editable(survey)
    if draft.kind not in set(QuestionKind):
        errors["kind"] = _l("Choose the kind of question.")
    texts = {key: value for key, value in draft.texts.items() if value.strip()}
    if not texts.get((survey.default_language, ""), "").strip():
        errors["texts"] = _l("Write the question for everyone in the main language.")
    for language, role in texts:
        if language not in LANGUAGES or (role and role not in PARTNER_ROLES):
            errors["texts"] = _l("Choose a language.")
    if draft.kind in CHOICE_KINDS:
        choices = [c for c in draft.choices if any(v.strip() for v in c.values())]
        if not 2 <= len(choices) <= MAX_CHOICES:
            errors["choices"] = _l("Give 2 to 12 choices, one a line.")
        elif any(not c.get(survey.default_language, "").strip() for c in choices):
            errors["choices"] = _l("Name every choice in the main language.")
    if draft.kind == QuestionKind.NUMBER:
        ends = [v for v in (draft.minimum, draft.maximum) if v is not None]
        if any(abs(v) > MAX_NUMBER for v in ends):
            errors["minimum"] = _l("The numbers are too large.")
        elif len(ends) == 2 and draft.minimum > draft.maximum:
            errors["minimum"] = _l("The smallest number is above the largest.")
    if draft.kind == QuestionKind.CATEGORY_SHARE and draft.product_group_id is None:
        errors["product_group_id"] = _l("Choose the product category.")
    if len(survey.questions) >= MAX_QUESTIONS:
        errors["kind"] = _l("A survey has at most 20 questions.")
    return errors


def add_question(session: Session, survey: Survey, draft: QuestionDraft) -> SurveyQuestion:
    errors = _check_question(survey, draft)
    if errors:
        raise InvalidInput(errors)
    number = draft.kind == QuestionKind.NUMBER
    question = SurveyQuestion(
        position=len(survey.questions) + 1,
        kind=draft.kind,
        minimum=draft.minimum if number else None,
        maximum=draft.maximum if number else None,
        product_group_id=draft.product_group_id
        if draft.kind == QuestionKind.CATEGORY_SHARE
        else None,
    )
    for (language, role), text in sorted(draft.texts.items()):
        if text.strip():
            question.texts.append(
                SurveyQuestionText(language=language, role=role, text=text.strip())
            )
    if draft.kind in CHOICE_KINDS:
        kept = [c for c in draft.choices if any(v.strip() for v in c.values())]
        for position, labels in enumerate(kept, start=1):
            clean = {lang: label.strip()[:100] for lang, label in labels.items() if label.strip()}
            question.choices.append(SurveyChoice(position=position, labels=clean))
    survey.questions.append(question)
    session.flush()
    return question


def remove_question(session: Session, survey: Survey, question_id: int) -> None:
    errors = _editable(survey)
    if errors:
        raise InvalidInput(errors)
    for question in list(survey.questions):
        if question.id == question_id:
            survey.questions.remove(question)
    session.flush()
    # Positions stay 1…n; two steps so the unique (survey, position) never sees two at once.
    for question in survey.questions:
        question.position = -question.position
    session.flush()
    for position, question in enumerate(survey.questions, start=1):
        question.position = position
    session.flush()


def open_survey(session: Session, survey: Survey, now: datetime, *, links: SurveyLinks):
    """Open the survey: triggers start sending it; a segment survey goes out now."""
    errors = _editable(survey)
    if not survey.questions:
        errors["questions"] = _l("Add at least one question.")
    if survey.closes_at <= now:
        errors["closes_at"] = _l("Choose a closing time in the future.")
    if errors:
        raise InvalidInput(errors)
    survey.status, survey.opened_at = SurveyStatus.OPEN, now
    session.flush()
    if survey.trigger == SurveyTrigger.SEGMENT:
        return send_to_segment(session, survey, now, links=links)
    return SendReport()


def close_survey(session: Session, survey: Survey, now: datetime, *, links: SurveyLinks) -> int:
    """Close an open survey now: its open invitations expire (what they answered is kept).
    Returns how many expired."""
    if survey.status != SurveyStatus.OPEN:
        raise InvalidInput({"status": _l("Only an open survey can be closed.")})
    survey.status, survey.closes_at = SurveyStatus.CLOSED, min(survey.closes_at, now)
    open_ones = session.scalars(
        select(SurveyInvitation)
        .where(SurveyInvitation.survey_id == survey.id, SurveyInvitation.state.in_(OPEN_STATES))
        .order_by(SurveyInvitation.id)
        .with_for_update()
    ).all()
    for invitation in open_ones:
        expire(session, invitation, now, links=links)
    session.flush()
    return len(open_ones)
