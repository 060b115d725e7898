"""The form an admin makes an API token with."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from channel.forms import optional_int

SCOPE_LABELS = {
    "read": _l("Read: partners, people, products, programs, balances and the ledger"),
    "write": _l("Write: also claims, sell-out lines and redemptions"),
}


class TokenForm(FlaskForm):
    name = StringField(
        _l("Integration"),
        validators=[DataRequired(_l("Name the integration this token is for.")), Length(max=200)],
    )
    scope = RadioField(
        _l("Scope"),
        choices=list(SCOPE_LABELS.items()),
        default="read",
        validators=[DataRequired(_l("Choose read or write."))],
    )
    partner_id = SelectField(_l("Partner"), coerce=optional_int)
