"""Forms for tips and for a program's triggered nudges."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from messaging.models import TRIGGERS
from messaging.nudges import DEFAULT_DAYS, MAX_DAYS

TRIGGER_LABELS = {
    "points_earned": _l("Points earned: the new balance and a tip"),
    "claim_decided": _l("Claim approved or rejected"),
    "approval_request": _l("Program awaits the partner's decision"),
    "enrolled": _l("Enrolled: their role's rule"),
    "inactive": _l("Inactive: one next step for their role"),
    "expiring": _l("Points about to expire"),
    "tier_reached": _l("Their company reached a higher tier"),
    "leaderboard": _l("Reached the top three of their role (when the leaderboard is shown)"),
}
DAYS_LABELS = {
    "approval_request": _l("Remind after (days)"),
    "inactive": _l("Inactive for (days)"),
    "expiring": _l("Warn this many days before"),
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


for _trigger in TRIGGERS:
    setattr(TriggersForm, f"on_{_trigger}", BooleanField(TRIGGER_LABELS[_trigger]))
    if _trigger in DEFAULT_DAYS:
        setattr(
            TriggersForm,
            f"days_{_trigger}",
            IntegerField(DAYS_LABELS[_trigger], validators=[Optional(), NumberRange(1, MAX_DAYS)]),
        )
