"""The form a quiz is answered with: one field per question, as the article page sends it."""

from flask_wtf import FlaskForm
from wtforms import IntegerField


class QuizForm(FlaskForm):
    """The answers to one article's quiz, a field `q<question id>` per question."""

    class Meta:
        # Never validated as a whole: an answer left out or out of range is graded as
        # missing, and the app's CSRF protection has checked the request already.
        csrf = False

    def chosen(self, questions) -> dict[int, int | None]:
        """The answer chosen for each question: its index, or None if none could be read."""
        chosen = {}
        for question in questions:
            value = self[f"q{question.id}"].data
            chosen[question.id] = value if value in range(len(question.choices)) else None
        return chosen


def quiz_form(article) -> QuizForm:
    """A form with a field for each of `article`'s questions."""

    class ArticleQuizForm(QuizForm):
        pass

    for question in article.questions:
        setattr(ArticleQuizForm, f"q{question.id}", IntegerField())
    return ArticleQuizForm()
