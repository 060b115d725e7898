"""The survey forms: its settings and words, one question, and the buttons on its page."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from core.config import LANGUAGES
from messaging.campaigns.forms import TEXT_ROLES
from roles.forms import MultiCheckboxField


class SurveyForm(FlaskForm):
    name = StringField(
        lazy_pgettext("thing", "Name"),
        validators=[DataRequired(_l("Give the survey a name.")), Length(max=200)],
    )
    anonymous = BooleanField(_l("Anonymous: answers are kept without the person's name"))
    trigger = SelectField(_l("Sent"))
    trigger_days = IntegerField(
        _l("Days without a claim"),
        validators=[Optional(), NumberRange(1, 365)],
        render_kw={"inputmode": "numeric"},
    )
    roles = MultiCheckboxField(_l("Roles"))
    partner_ids = MultiCheckboxField(_l("Partners"), coerce=int)
    countries = MultiCheckboxField(_l("Countries"))
    languages = MultiCheckboxField(_l("Languages"))
    holdout_percent = IntegerField(
        _l("Control group, percent"),
        default=0,
        validators=[NumberRange(0, 50)],
        render_kw={"inputmode": "numeric"},
    )
    closes_at = DateTimeLocalField(
        _l("Closes at"),
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(_l("Choose a closing time in the future."))],
    )
    reminder_after_hours = IntegerField(
        _l("One reminder after this many quiet hours (empty: none)"),
        validators=[Optional(), NumberRange(1, 720)],
        render_kw={"inputmode": "numeric"},
    )
    default_language = SelectField(_l("Main language"), choices=list(LANGUAGES))


class QuestionForm(FlaskForm):
    kind = SelectField(_l("Kind of question"))
    minimum = IntegerField(
        _l("Smallest number"), validators=[Optional()], render_kw={"inputmode": "numeric"}
    )
    maximum = IntegerField(
        _l("Largest number"), validators=[Optional()], render_kw={"inputmode": "numeric"}
    )
    product_group_id = SelectField(_l("Product category"), coerce=str)


class SurveyActionForm(FlaskForm):
    """The buttons on a survey's page: open, close, remove a question."""


for _code in LANGUAGES:
    setattr(SurveyForm, f"title_{_code}", StringField(_l("Title"), [Length(max=200)]))
    setattr(SurveyForm, f"intro_{_code}", TextAreaField(_l("Introduction for every role")))
    setattr(QuestionForm, f"text_{_code}", TextAreaField(_l("Question for every role")))
    setattr(
        QuestionForm,
        f"choices_{_code}",
        TextAreaField(_l("Choices, one a line"), [Length(max=2000)]),
    )
    for _role in TEXT_ROLES:
        setattr(SurveyForm, f"intro_{_code}_{_role.value}", TextAreaField())
        setattr(QuestionForm, f"text_{_code}_{_role.value}", TextAreaField())
