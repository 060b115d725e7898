"""Forms for partner organizations."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from roles.forms import MultiCheckboxField

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


class ProgramForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Give the program a name.")), Length(max=200)]
    )
    description = TextAreaField(_l("Description"))
    starts_on = DateField(_l("First day"), validators=[Optional()])
    ends_on = DateField(_l("Last day"), validators=[Optional()])
    currency = StringField(
        _l("Currency"), default="EUR", render_kw={"list": "currencies", "maxlength": 3}
    )
    point_value = StringField(
        _l("Value of one point"), default="0.01", render_kw={"inputmode": "decimal"}
    )
    budget_points = IntegerField(_l("Budget in points (empty: no limit)"), validators=[Optional()])
    cap_per_person_month = IntegerField(
        _l("Cap per person per month, in points"), validators=[Optional()]
    )
    cap_per_partner = IntegerField(
        _l("Cap per partner over the program, in points"), validators=[Optional()]
    )
    partner_ids = MultiCheckboxField(_l("Offer to these partners"), coerce=int)
    tier_ids = MultiCheckboxField(_l("…and to every partner of these tiers"), coerce=int)


#: A translated name and description per language besides the original.
for _code in ("en", "lv", "pl", "ru", "he", "fa"):
    setattr(
        ProgramForm,
        f"name_{_code}",
        StringField(_l("Name"), validators=[Optional(), Length(max=200)]),
    )
    setattr(ProgramForm, f"description_{_code}", TextAreaField(_l("Description")))


class SchemeForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Give the scheme a name.")), Length(max=200)]
    )
    company_level = BooleanField(
        _l("For the partner company itself (pays the company, not people)")
    )
    roles = MultiCheckboxField(_l("For these roles"))


class DecisionForm(FlaskForm):
    outcome = RadioField(
        _l("Your decision"),
        choices=[("approve", _l("Approve")), ("decline", _l("Decline"))],
        validators=[DataRequired(_l("Approve or decline."))],
    )
    reason = TextAreaField(_l("Reason or note to the manufacturer"))
    roles = MultiCheckboxField(_l("Roles that take part"))
    excluded = MultiCheckboxField(_l("Leave out these people"), coerce=int)
    cap_per_person_month = IntegerField(
        _l("Lower cap per person per month (optional)"), validators=[Optional()]
    )
    pay_to_pool = BooleanField(
        _l("Pay what staff earn into our company pool, for us to distribute")
    )


class CatalogImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file."))])


class ProductGroupForm(FlaskForm):
    code = StringField(
        _l("Code"), validators=[DataRequired(_l("Give the group a code.")), Length(max=64)]
    )
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Give the group a name.")), Length(max=200)]
    )
    default_points_per_unit = StringField(_l("Default points per unit"))


class ProductForm(FlaskForm):
    sku = StringField(
        _l("SKU"), validators=[DataRequired(_l("Give the product its SKU.")), Length(max=64)]
    )
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Give the product a name.")), Length(max=200)]
    )
    group = SelectField(_l("Product group"))
    points_per_unit = StringField(_l("Points per unit (empty: the group's)"))


class ArticleForm(FlaskForm):
    title = StringField(_l("Title"))
    language = SelectField(_l("Language"))
    product_group_id = SelectField(_l("Product line"))
    body = TextAreaField(
        _l("Article"), description=_l("Markdown: **bold**, *italic*, lists, links, ## headings.")
    )
    quiz = TextAreaField(
        _l("Quiz (optional)"),
        description=_l(
            "A question on one line and its answers on the next lines; start the right answer "
            "with *. Leave an empty line between questions."
        ),
    )
    published = BooleanField(_l("Published"), default=True)
