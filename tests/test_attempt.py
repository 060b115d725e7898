"""core.views.attempt: the one way a view runs an operation and reports its refusal."""

from flask import get_flashed_messages
from flask_wtf import FlaskForm
from wtforms import StringField

from core.errors import InvalidInput
from core.views import attempt


class NameForm(FlaskForm):
    name = StringField()


def test_a_refusal_is_shown_at_the_field_it_names_and_the_rest_is_flashed(app):
    with app.test_request_context(method="POST"):
        form = NameForm(meta={"csrf": False})

        def refuse(_session):
            raise InvalidInput({"name": "Too short.", "when": "Not in the past."})

        outcome = attempt(refuse, done="Saved.", form=form)
        assert not outcome and outcome.result is None
        assert form.name.errors == ["Too short."]
        assert get_flashed_messages(with_categories=True) == [("error", "Not in the past.")]


def test_a_done_action_is_committed_and_gives_back_its_result(app):
    with app.test_request_context(method="POST"):
        outcome = attempt(lambda _session: 42, done="Saved.")
        assert outcome and outcome.result == 42
        assert get_flashed_messages(with_categories=True) == [("success", "Saved.")]
