"""Small builders for survey tests: a three-question survey in several languages."""

from datetime import timedelta

from core.db import utcnow
from messaging.surveys.authoring import QuestionDraft, SurveyDraft, add_question, save_survey
from messaging.surveys.links import SurveyLinks
from messaging.surveys.models import (
    InvitationState,
    QuestionKind,
    Survey,
    SurveyInvitation,
    SurveyQuestion,
    SurveyStatus,
)

LINKS = SurveyLinks(secret="test-secret", base_url="http://localhost")

INTROS = {
    "en": ("Your view", "Three quick questions, {first_name}."),
    "lv": ("Jūsu viedoklis", "Trīs īsi jautājumi, {first_name}."),
    "fa": ("نظر شما", "سه پرسش کوتاه، {first_name}."),
    "he": ("דעתך", "שלוש שאלות קצרות, {first_name}."),
    "ru": ("Ваше мнение", "Три коротких вопроса, {first_name}."),
    "pl": ("Twoje zdanie", "Trzy krótkie pytania, {first_name}."),
}
NPS = {
    "en": "How likely are you to recommend our program to a colleague?",
    "lv": "Cik ticami jūs ieteiktu mūsu programmu kolēģim?",
    "fa": "چقدر احتمال دارد برنامه ما را به همکاری پیشنهاد کنید؟",
}
WHAT_STOPS = {
    "en": "What stops you claiming more?",
    "lv": "Kas jums traucē pieteikt vairāk?",
    "fa": "چه چیزی مانع ثبت بیشتر می‌شود؟",
}
CHOICES = [
    {"en": "Price", "lv": "Cena", "fa": "قیمت"},
    {"en": "Training", "lv": "Apmācība", "fa": "آموزش"},
    {"en": "Time", "lv": "Laiks", "fa": "زمان"},
]
FREE = {"en": "Anything else?", "lv": "Vēl kas?", "fa": "چیز دیگری؟"}


def three_question_survey(db, actor, *, name="Pulse", anonymous=False, closes_in=7, **settings):
    survey = save_survey(
        db,
        SurveyDraft(
            name=name,
            closes_at=utcnow() + timedelta(days=closes_in),
            anonymous=anonymous,
            texts={(lang, ""): words for lang, words in INTROS.items()},
            **settings,
        ),
        utcnow(),
        actor_id=actor.id,
    )
    add_question(db, survey, QuestionDraft(QuestionKind.NPS, {(k, ""): v for k, v in NPS.items()}))
    add_question(
        db,
        survey,
        QuestionDraft(
            QuestionKind.SINGLE_CHOICE,
            {(k, ""): v for k, v in WHAT_STOPS.items()},
            choices=CHOICES,
        ),
    )
    add_question(
        db, survey, QuestionDraft(QuestionKind.FREE_TEXT, {(k, ""): v for k, v in FREE.items()})
    )
    return survey


def open_now(db, survey):
    survey.status, survey.opened_at = SurveyStatus.OPEN, utcnow()
    db.flush()
    return survey


def invited(db, survey, person, *, state=InvitationState.SENT, channel="inapp"):
    """An invitation written directly (no message): for pages and races."""
    invitation = SurveyInvitation(
        survey_id=survey.id,
        person_id=person.id,
        channel=channel,
        state=state,
        asked_again=False,
        expires_at=survey.closes_at,
        invited_at=utcnow(),
    )
    db.add(invitation)
    return invitation


def open_survey_asking(db, people, state=InvitationState.SENT, *, free_text=False):
    """An open survey (not anonymous) with an invitation in `state` for each of `people`;
    with `free_text`, its one question is a free-text one."""
    now = utcnow()
    survey = Survey(
        name="Pulse",
        seed=1,
        status=SurveyStatus.OPEN,
        opened_at=now,
        closes_at=now + timedelta(days=7),
        questions=[SurveyQuestion(position=1, kind=QuestionKind.FREE_TEXT)] if free_text else [],
    )
    db.add(survey)
    db.flush()
    invitations = [invited(db, survey, person, state=state, channel="sms") for person in people]
    db.flush()
    return survey, invitations
