"""Forms for sign-in, profiles and staff management."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from core.config import LANGUAGES
from core.i18n import isolated
from roles.phones import country_choices, example_phone

ROLE_LABELS = {
    "channel_manager": _l("Channel manager"),
    "admin": _l("Administrator"),
    "partner_manager": _l("Partner manager"),
    "seller": _l("Seller"),
    "engineer": _l("Engineer"),
    "technician": _l("Field technician"),
    "procurement": _l("Procurement"),
}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PasswordSignInForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(_l("Enter your e-mail."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])


class PhoneSignInForm(FlaskForm):
    #: Where a number typed without its country code is from; preset to the page language's.
    country = SelectField(_l("Country"), render_kw={"autocomplete": "country"})
    phone = TelField(
        _l("Phone number"),
        validators=[DataRequired(_l("Enter your phone number."))],
        render_kw={"autocomplete": "tel", "inputmode": "tel", "dir": "ltr"},
    )

    @classmethod
    def for_page(cls, home: str | None, countries) -> "PhoneSignInForm":
        """The form with `countries` to choose from, `home` (or none) chosen until the reader
        chooses, and the chosen country's example number as the placeholder and in the hint
        (`phone.description`). Each country's option carries its own example and hint, which
        the page's script shows when that country is chosen."""
        form = cls(country=home or "")
        offered = country_choices(set(countries) | ({home} if home else set()))
        form.country.choices = [
            SelectChoice(code, name, {**attributes, "data-hint": _sign_in_hint(code)})
            for code, name, attributes in [("", _("Choose…"), {"data-example": ""}), *offered]
        ]
        with_example(form.phone, form.country.data or None)
        form.phone.description = _sign_in_hint(form.country.data or None)
        return form


def _sign_in_hint(country: str | None) -> str:
    example = example_phone(country) if country else None
    if example is None:
        return _("Choose your country above, or write the number with its country code (+…).")
    return _(
        "As you dial it in the country above (e.g. %(example)s), or with its country code (+…).",
        example=isolated(example),
    )


def with_example(phone_field, country: str | None) -> None:
    """Show `country`'s example number in the field (a new dict: render_kw is shared by
    every form of the class)."""
    example = example_phone(country) if country else None
    phone_field.render_kw = {**(phone_field.render_kw or {}), "placeholder": example or ""}


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code from the SMS"),
        validators=[
            DataRequired(_l("Enter the code.")),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("The code has 6 digits.")),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 7},
    )


class SignInLinkForm(FlaskForm):
    """The sign-in link's page: only its button, the token is in the address (a refused link
    is reported at `token`)."""

    token = HiddenField()


class LanguageForm(FlaskForm):
    """A visitor's choice of language, one button per language."""

    language = SelectField(choices=list(LANGUAGES))


class ProfileForm(FlaskForm):
    language = SelectField(_l("Language"))
    timezone = SelectField(_l("Time zone"))
    preferred_channel = SelectField(_l("How we reach you"))
    #: Channels the person wants nothing on (consent per channel, recorded with its time).
    stopped_channels = MultiCheckboxField(_l("Send me nothing by"), validate_choice=True)


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), render_kw={"autocomplete": "current-password"}
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Enter a new password."))],
        render_kw={"autocomplete": "new-password"},
    )
    repeat_password = PasswordField(
        _l("New password again"), render_kw={"autocomplete": "new-password"}
    )


class PersonForm(FlaskForm):
    full_name = StringField(
        lazy_pgettext("person", "Name"),
        validators=[DataRequired(_l("Enter the person's name.")), Length(max=200)],
    )
    phone = TelField(
        _l("Phone number"),
        validators=[DataRequired(_l("Enter a phone number."))],
        render_kw={"inputmode": "tel", "dir": "ltr"},
    )
    email = EmailField(_l("E-mail (optional)"), validators=[Optional()])
    roles = MultiCheckboxField(_l("Roles"))
    language = SelectField(_l("Language"))
    timezone = StringField(
        _l("Time zone"), validators=[Optional()], render_kw={"list": "timezones"}
    )
    preferred_channel = SelectField(_l("How we reach them"))
    active = BooleanField(_l("Active"), default=True)


class StaffImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file."))])
