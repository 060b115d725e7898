"""Forms of the shared inbox and of "Ask us" on the phone."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import Length

from messaging.conversation_models import ConversationStatus
from messaging.conversations import MAX_TEXT


def _text(label) -> TextAreaField:
    return TextAreaField(label, validators=[Length(max=MAX_TEXT)], render_kw={"dir": "auto"})


class ReplyForm(FlaskForm):
    text = _text(_l("Reply"))


class NoteForm(FlaskForm):
    text = _text(_l("Internal note"))


class QuestionForm(FlaskForm):
    text = _text(_l("Your question"))


class AssignForm(FlaskForm):
    #: A colleague's id, or "" for nobody in particular.
    assignee = SelectField(_l("Assigned to"), default="")


class StatusForm(FlaskForm):
    status = HiddenField(default=ConversationStatus.DONE)


class FilterForm(FlaskForm):
    """The inbox's filters, read from the query string."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), default=ConversationStatus.OPEN)
    assigned = SelectField(_l("Assigned"), default="")
    partner = SelectField(_l("Partner"), default="")
    role = SelectField(_l("Role"), default="")
    country = SelectField(_l("Country"), default="")
    language = SelectField(_l("Language"), default="")
    program = SelectField(_l("Program"), default="")
