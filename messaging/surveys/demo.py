"""The demo's survey: "Winter pulse" to the partners' staff, answered in Latvian, Russian,
Polish, Hebrew and Persian, with one dialogue still running by SMS."""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.models import ProductGroup
from core.db import utcnow
from messaging.surveys.answers import write_response
from messaging.surveys.authoring import QuestionDraft, SurveyDraft, add_question, save_survey
from messaging.surveys.dialogue import respondent
from messaging.surveys.models import (
    InvitationState,
    QuestionKind,
    Survey,
    SurveyInvitation,
    SurveyStatus,
)
from roles.models import Person

NAME = "Winter pulse"
INTROS = {
    "en": ("Winter pulse", "Four short questions about the Winter heat program, {first_name}."),
    "lv": ("Ziemas aptauja", "Četri īsi jautājumi par programmu, {first_name}."),
    "ru": ("Зимний опрос", "Четыре коротких вопроса о программе, {first_name}."),
    "pl": ("Zimowa ankieta", "Cztery krótkie pytania o program, {first_name}."),
    "he": ("סקר חורף", "ארבע שאלות קצרות על התוכנית, {first_name}."),
    "fa": ("نظرسنجی زمستان", "چهار پرسش کوتاه درباره برنامه، {first_name}."),
}
QUESTIONS = (
    (
        QuestionKind.NPS,
        {
            "en": "How likely are you to recommend the program to a colleague?",
            "lv": "Cik ticami jūs ieteiktu programmu kolēģim?",
            "ru": "Насколько вероятно, что вы порекомендуете программу коллеге?",
            "pl": "Jak bardzo prawdopodobne jest, że polecisz program koledze?",
            "he": "עד כמה סביר שתמליצו על התוכנית לעמית?",
            "fa": "چقدر احتمال دارد برنامه را به همکاری پیشنهاد کنید؟",
        },
    ),
    (
        QuestionKind.SINGLE_CHOICE,
        {
            "en": "What stops you claiming more?",
            "lv": "Kas jums traucē pieteikt vairāk?",
            "ru": "Что мешает вам подавать больше заявок?",
            "pl": "Co przeszkadza Ci zgłaszać więcej?",
            "he": "מה מונע מכם לדווח יותר?",
            "fa": "چه چیزی مانع ثبت بیشتر می‌شود؟",
        },
    ),
    (
        QuestionKind.FREE_TEXT,
        {
            "en": "What would you change?",
            "lv": "Ko jūs mainītu?",
            "ru": "Что бы вы изменили?",
            "pl": "Co byś zmienił?",
            "he": "מה הייתם משנים?",
            "fa": "چه چیزی را تغییر می‌دادید؟",
        },
    ),
    (
        QuestionKind.CATEGORY_SHARE,
        {
            "en": "Gas boilers you sold last month, and how many of them were ours?",
            "lv": "Cik gāzes katlu pārdevāt pagājušajā mēnesī, un cik no tiem bija mūsu?",
            "ru": "Сколько газовых котлов вы продали в прошлом месяце и сколько из них наши?",
            "pl": "Ile kotłów gazowych sprzedaliście w zeszłym miesiącu, a ile z nich było naszych?",
            "he": "כמה דודי גז מכרתם בחודש שעבר, וכמה מהם שלנו?",
            "fa": "ماه گذشته چند دیگ گازی فروختید و چند تا از آن‌ها مال ما بود؟",
        },
    ),
)
CHOICES = [
    {
        "en": "Paperwork",
        "lv": "Dokumenti",
        "ru": "Бумаги",
        "pl": "Formalności",
        "he": "ניירת",
        "fa": "کاغذبازی",
    },
    {
        "en": "Too few points",
        "lv": "Par maz punktu",
        "ru": "Мало баллов",
        "pl": "Za mało punktów",
        "he": "מעט נקודות",
        "fa": "امتیاز کم",
    },
    {
        "en": "No time",
        "lv": "Nav laika",
        "ru": "Нет времени",
        "pl": "Brak czasu",
        "he": "אין זמן",
        "fa": "وقت ندارم",
    },
]
#: phone -> (NPS, choice position, words, (units, ours) or None); None: still answering.
ANSWERS = {
    "+37120000002": (9, 2, "Vairāk punktu par siltumsūkņiem.", (40, 22)),
    "+37120000003": (7, 1, "Меньше бумаг при заявке.", None),
    "+37120000004": (8, 3, "Ātrāka apstiprināšana.", (25, 10)),
    "+48501000001": (10, 2, "Więcej szkoleń w Krakowie.", (60, 35)),
    "+48501000002": (6, 1, "Prostszy formularz.", None),
    "+972502345678": (9, 3, "הדרכה בעברית, בבקשה.", (30, 12)),
    "+972522345678": (4, 1, "פחות טפסים.", None),
    "+972542345679": (8, 2, "آموزش بیشتر به زبان فارسی.", None),
    "+48501000003": None,
}


def seed_demo_survey(session: Session, now: datetime | None = None) -> int:
    """The demo survey and its answers; nothing when it is there already. Returns the
    responses written."""
    if session.scalar(select(Survey.id).where(Survey.name == NAME)) is not None:
        return 0
    now = now or utcnow()
    author = session.scalar(
        select(Person).where(Person.email == "channel@demo.partnerlift.example")
    )
    survey = save_survey(
        session,
        SurveyDraft(
            name=NAME,
            closes_at=now + timedelta(days=14),
            texts={(lang, ""): words for lang, words in INTROS.items()},
            reminder_after_hours=48,
        ),
        now,
        actor_id=author.id if author else None,
    )
    boilers = session.scalar(select(ProductGroup.id).where(ProductGroup.code == "boilers"))
    for kind, texts in QUESTIONS:
        if kind == QuestionKind.CATEGORY_SHARE and boilers is None:
            continue
        add_question(
            session,
            survey,
            QuestionDraft(
                kind,
                {(lang, ""): text for lang, text in texts.items()},
                choices=CHOICES if kind == QuestionKind.SINGLE_CHOICE else [],
                product_group_id=boilers if kind == QuestionKind.CATEGORY_SHARE else None,
            ),
        )
    survey.status, survey.opened_at = SurveyStatus.OPEN, now - timedelta(days=3)
    questions = survey.questions
    written = 0
    for phone, answer in ANSWERS.items():
        person = session.scalar(select(Person).where(Person.phone == phone))
        if person is None:
            continue
        invitation = SurveyInvitation(
            survey_id=survey.id,
            person_id=person.id,
            channel="sms",
            state=InvitationState.ASKING if answer is None else InvitationState.ANSWERED,
            asked_again=False,
            invited_at=now - timedelta(days=3),
            last_activity_at=now - timedelta(days=2),
            expires_at=survey.closes_at,
            ended_at=None if answer is None else now - timedelta(days=2),
        )
        session.add(invitation)
        session.flush()
        if answer is None:  # answered the first question, the second is out
            invitation.current_question_id = questions[1].id
            invitation.staged = {str(questions[0].id): 8}
            continue
        nps, choice, words, share = answer
        values = {
            str(questions[0].id): nps,
            str(questions[1].id): [questions[1].choices[choice - 1].id],
            str(questions[2].id): words,
        }
        if share is not None and len(questions) > 3:
            values[str(questions[3].id)] = list(share)
        write_response(
            session,
            survey,
            respondent(person, invitation, "sms"),
            values,
            complete=True,
            now=now - timedelta(days=2),
        )
        written += 1
    session.flush()
    return written


def on_demo_seeded(_sender, *, session, created, **_more) -> None:
    created["survey responses"] = seed_demo_survey(session)
