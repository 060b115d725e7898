"""Forms for tips, for a program's triggered nudges and for WhatsApp templates."""

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from messaging.models import Trigger
from messaging.nudges import DEFAULT_DAYS, MAX_DAYS

DAYS_LABELS = {
    Trigger.APPROVAL_REQUEST: _l("Remind after (days)"),
    Trigger.INACTIVE: _l("Inactive for (days)"),
    Trigger.EXPIRING: _l("Warn this many days before"),
}


class TipForm(FlaskForm):
    group = SelectField(_l("Product group"))
    language = SelectField(_l("Language"))
    text = TextAreaField(_l("Did you know…"), validators=[Length(max=255)])
    #: One of the learning articles: the tip links to it (and the link below is not used).
    article = SelectField(_l("Our article on it (optional)"), default="")
    link_url = StringField(_l("Link to an article (optional)"), validators=[Length(max=500)])


class TriggersForm(FlaskForm):
    pass


for _trigger in Trigger:
    setattr(
        TriggersForm,
        f"on_{_trigger}",
        BooleanField(LazyString(lambda trigger=_trigger: trigger.label)),
    )
    if _trigger in DEFAULT_DAYS:
        setattr(
            TriggersForm,
            f"days_{_trigger}",
            IntegerField(DAYS_LABELS[_trigger], validators=[Optional(), NumberRange(1, MAX_DAYS)]),
        )


class ContentTemplateForm(FlaskForm):
    #: Choices: "" (none yet) and every message kind.
    kind = SelectField(_l("Message kind"), default="")
    variables = StringField(_l("Variables, in order"), validators=[Length(max=1000)])
