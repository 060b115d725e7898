"""A survey's words for one reader: the variant of their language and role, and a question as
one SMS (its text, then how to answer: the range, or the choices by number)."""

from flask_babel import force_locale
from flask_babel import gettext as _

from messaging.surveys.models import QuestionKind, Survey, SurveyChoice, SurveyQuestion

#: The range a person answers in, per kind that has a fixed one.
SCALES = {QuestionKind.NPS: (0, 10), QuestionKind.RATING: (1, 5)}
PLACEHOLDERS = ("{first_name}", "{full_name}")


def pick(items, language: str, role: str, default_language: str):
    """The item (anything with `language` and `role`) that speaks to this reader: their
    language and role, their language for every role, then the same in the default language."""
    by_key = {(item.language, item.role): item for item in items}
    for key in ((language, role), (language, ""), (default_language, role), (default_language, "")):
        if key in by_key:
            return by_key[key]
    return None


def question_text(question: SurveyQuestion, language: str, role: str, default: str) -> str:
    found = pick(question.texts, language, role, default)
    return found.text if found is not None else ""


def choice_label(choice: SurveyChoice, language: str, default: str) -> str:
    labels = choice.labels or {}
    return labels.get(language) or labels.get(default) or next(iter(labels.values()), "")


def fill(text: str, full_name: str) -> str:
    first = (full_name.split() or [""])[0]
    return text.replace("{first_name}", first).replace("{full_name}", full_name).strip()


def intro(survey: Survey, language: str, role: str) -> tuple[str, str]:
    """(title, intro) for the reader, names not yet filled in."""
    found = pick(survey.texts, language, role, survey.default_language)
    if found is None:
        return survey.name, ""
    return found.title, found.intro


def range_of(question: SurveyQuestion) -> tuple[int | None, int | None]:
    if question.kind in SCALES:
        return SCALES[question.kind]
    return question.minimum, question.maximum


def how_to_answer(question: SurveyQuestion, language: str, default: str) -> str:
    """The hint after a question in a text message, in the reader's language (the caller has
    set the locale)."""
    kind = question.kind
    if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
        listed = ", ".join(
            f"{choice.position} {choice_label(choice, language, default)}"
            for choice in question.choices
        )
        if kind == QuestionKind.MULTIPLE_CHOICE:
            return _("Reply with the numbers of your choices: %(choices)s", choices=listed)
        return _("Reply with one number: %(choices)s", choices=listed)
    if kind == QuestionKind.FREE_TEXT:
        return _("Reply in your own words.")
    if kind == QuestionKind.CATEGORY_SHARE:
        return _("Reply with two numbers: units sold last month, then how many of them were ours.")
    low, high = range_of(question)
    if low is not None and high is not None:
        return _("Reply with a number from %(low)s to %(high)s.", low=low, high=high)
    return _("Reply with a number.")


def question_message(
    survey: Survey,
    question: SurveyQuestion,
    *,
    language: str,
    role: str,
    first: bool = False,
    again: bool = False,
) -> str:
    """One question as a text message: the survey's intro before the first, a short "please
    answer again" before a repeat. Names are left as placeholders (`fill` them)."""
    default = survey.default_language
    count = len(survey.questions)
    with force_locale(language):
        parts = []
        if first:
            parts.append(intro(survey, language, role)[1])
        if again:
            parts.append(_("Sorry, we could not read that answer."))
        parts.append(
            _(
                "(%(number)s/%(count)s) %(question)s",
                number=question.position,
                count=count,
                question=question_text(question, language, role, default),
            )
        )
        parts.append(how_to_answer(question, language, default))
        return "\n".join(part for part in parts if part)
