"""The campaign form: the segment, the hold-out, and the text per language and role."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from core.config import LANGUAGES
from roles.forms import MultiCheckboxField
from roles.permissions import Role

#: The roles a campaign can speak to separately, in the form's order.
TEXT_ROLES = (Role.SELLER, Role.ENGINEER, Role.TECHNICIAN, Role.PROCUREMENT, Role.PARTNER_MANAGER)


class CampaignForm(FlaskForm):
    name = StringField(
        lazy_pgettext("thing", "Name"),
        validators=[DataRequired(_l("Give the campaign a name.")), Length(max=200)],
    )
    roles = MultiCheckboxField(_l("Roles"))
    partner_ids = MultiCheckboxField(_l("Partners"), coerce=int)
    tier_ids = MultiCheckboxField(_l("Tiers"), coerce=int)
    countries = MultiCheckboxField(_l("Countries"))
    languages = MultiCheckboxField(_l("Languages"))
    program_ids = MultiCheckboxField(_l("Enrolled in"), coerce=int)
    activity = SelectField(_l("Activity"))
    activity_days = IntegerField(
        _l("Days"), default=30, validators=[NumberRange(1, 365)], render_kw={"inputmode": "numeric"}
    )
    holdout_percent = IntegerField(
        _l("Control group, percent of the segment"),
        default=10,
        validators=[NumberRange(0, 50)],
        render_kw={"inputmode": "numeric"},
    )
    default_language = SelectField(_l("Main language"), choices=list(LANGUAGES))


for _code in LANGUAGES:
    setattr(CampaignForm, f"subject_{_code}", StringField(_l("E-mail subject"), [Length(max=255)]))
    setattr(CampaignForm, f"body_{_code}", TextAreaField(_l("Message for every role")))
    for _role in TEXT_ROLES:
        setattr(CampaignForm, f"body_{_code}_{_role.value}", TextAreaField())


class ScheduleForm(FlaskForm):
    #: Which of the page's buttons was pressed: send, schedule, unschedule or cancel.
    action = StringField()
    scheduled_at = DateTimeLocalField(
        _l("Send at"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
