"""The form an admin makes an API token with."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from channel.api.models import TokenScope
from channel.forms import optional_int


class TokenForm(FlaskForm):
    name = StringField(
        _l("Integration"),
        validators=[DataRequired(_l("Name the integration this token is for.")), Length(max=200)],
    )
    scope = RadioField(
        _l("Scope"),
        # Called as the form is shown, so the words are in the reader's language.
        choices=lambda: [(scope.value, scope.label) for scope in TokenScope],
        default=TokenScope.READ,
        validators=[DataRequired(_l("Choose read or write."))],
    )
    partner_id = SelectField(_l("Partner"), coerce=optional_int)
