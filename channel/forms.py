"""Forms for partner organizations."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

KIND_LABELS = {
    "distributor": _l("Distributor"),
    "dealer": _l("Dealer"),
    "installer": _l("Installer"),
    "retailer": _l("Retailer"),
}

STATUS_LABELS = {
    "active": _l("Active"),
    "suspended": _l("Suspended"),
    "closed": _l("Closed"),
}


def optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class PartnerForm(FlaskForm):
    name = StringField(
        lazy_pgettext("organization", "Name"),
        validators=[DataRequired(_l("Enter the organization's name.")), Length(max=200)],
    )
    kind = SelectField(_l("Kind"))
    country = SelectField(_l("Country"), validators=[DataRequired(_l("Choose a country."))])
    legal_id = StringField(
        _l("Registration or VAT number"),
        validators=[DataRequired(_l("Enter the registration or VAT number.")), Length(max=64)],
    )
    tier_id = SelectField(_l("Tier"), coerce=optional_int)
    parent_id = SelectField(_l("Buys through (distributor)"), coerce=optional_int)
    status = SelectField(_l("Status"))


class PartnerSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search by name or number"))
    country = SelectField(_l("Country"))
    tier = SelectField(_l("Tier"), coerce=optional_int)
    status = SelectField(_l("Status"))
