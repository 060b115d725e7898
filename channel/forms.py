"""The channel's web forms: partners, programs, the catalog, claims, rewards and co-op funds.

Forms for claims, rewards and co-op funds only read what was typed: the operations check it
and report every problem at once, at the field it names (`core.views.attempt`).
"""

import contextlib
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

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

from channel.models import SerialCheck
from channel.reward_offers import OfferTerms
from core.config import LANGUAGES
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
    contract_started_on = DateField(
        _l("Contract started on (empty: not known)"), validators=[Optional()]
    )


class PartnerSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search by name or number"))
    country = SelectField(_l("Country"))
    tier = SelectField(_l("Tier"), coerce=optional_int)
    status = SelectField(_l("Status"))


def id_text(value) -> str:
    """A row's id as a select list holds it: "" for none (a form bound to a row whose column
    is NULL, or that a post left out, keeps that)."""
    return "" if value is None else str(value)


def day_of(value):
    """A date field bound to a moment: its (UTC) day; the pages set the viewer's own day."""
    return value.date() if isinstance(value, datetime) else value


class ProgramForm(FlaskForm):
    name = StringField(
        lazy_pgettext("thing", "Name"),
        validators=[DataRequired(_l("Give the program a name.")), Length(max=200)],
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
    serial_check = SelectField(
        _l("Install claims on serial numbers we never shipped"), default=SerialCheck.REVIEW.value
    )
    partner_ids = MultiCheckboxField(_l("Offer to these partners"), coerce=int)
    tier_ids = MultiCheckboxField(_l("…and to every partner of these tiers"), coerce=int)
    min_tier_id = SelectField(
        _l("Only for partners of this tier and above"), coerce=id_text, default=""
    )
    tier_only_until = DateField(
        _l("Early access until"),
        validators=[Optional()],
        filters=[day_of],
        description=_l(
            "From this day the partners it is offered to below the tier see it too. Empty: "
            "only the tier and above, for good."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.serial_check.choices = [(check.value, check.label) for check in SerialCheck]


#: A translated name and description per language besides the original.
for _code in ("en", "lv", "pl", "ru", "he", "fa"):
    setattr(
        ProgramForm,
        f"name_{_code}",
        StringField(lazy_pgettext("thing", "Name"), validators=[Optional(), Length(max=200)]),
    )
    setattr(ProgramForm, f"description_{_code}", TextAreaField(_l("Description")))


class SchemeForm(FlaskForm):
    name = StringField(
        lazy_pgettext("thing", "Name"),
        validators=[DataRequired(_l("Give the scheme a name.")), Length(max=200)],
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
        lazy_pgettext("thing", "Name"),
        validators=[DataRequired(_l("Give the group a name.")), Length(max=200)],
    )
    default_points_per_unit = StringField(_l("Default points per unit"))


class ProductForm(FlaskForm):
    sku = StringField(
        _l("SKU"), validators=[DataRequired(_l("Give the product its SKU.")), Length(max=64)]
    )
    name = StringField(
        lazy_pgettext("thing", "Name"),
        validators=[DataRequired(_l("Give the product a name.")), Length(max=200)],
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
    tier_id = SelectField(_l("Only for this tier and above"), coerce=id_text, default="")
    tier_only_until = DateField(
        _l("Early access until"),
        validators=[Optional()],
        filters=[day_of],
        description=_l("From this day every tier sees it. Empty: only the tier, for good."),
    )


# ---------------------------------------------------------------- fields read as typed


class LooseIntegerField(StringField):
    """A whole number as Python reads it ("٣" too), or None: the operation judges it."""

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist:
            with contextlib.suppress(ValueError):
                self.data = int(valuelist[0])


class WholeNumberField(StringField):
    """A typed whole number (maybe negative), or None; "²" is a digit to str.isdigit() only."""

    def process_formdata(self, valuelist):
        text = valuelist[0].strip() if valuelist else ""
        digits = text.removeprefix("-")
        self.data = int(text) if digits.isascii() and digits.isdigit() else None


class PaidAmountField(StringField):
    """An amount above zero (a decimal comma too), else 0: an amount nobody paid."""

    def process_formdata(self, valuelist):
        try:
            value = Decimal((valuelist[0] if valuelist else "").strip().replace(",", "."))
        except InvalidOperation:
            value = Decimal(0)
        self.data = value if value.is_finite() and value > 0 else Decimal(0)


class IsoDateField(StringField):
    """A day as YYYY-MM-DD (what a date input sends), or None."""

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist:
            with contextlib.suppress(ValueError):
                self.data = date.fromisoformat(valuelist[0])


def typed_values(form) -> dict[str, str]:
    """What was typed into each field, to show it again next to the problems."""
    return {
        field.name: field.raw_data[0]
        for field in form
        if field.raw_data and isinstance(field.raw_data[0], str)
    }


def field_errors(form) -> dict[str, str]:
    """The first problem of each field, by the field's name."""
    return {field.name: str(field.errors[0]) for field in form if field.errors}


# ---------------------------------------------------------------- claims

#: Product lines a claim form offers.
LINE_ROWS = 5


class ClaimForm(FlaskForm):
    """A claim from the phone; which fields the page shows depends on its kind."""

    occurred_on = IsoDateField()
    invoice_number = StringField()
    amount = PaidAmountField(default=Decimal(0))
    due_on = IsoDateField()
    serial = StringField()
    site = StringField()
    share_person = LooseIntegerField()
    share_percent = LooseIntegerField()
    referred_legal_id = StringField()
    photo = FileField()

    # Where the problems of a claim that name no single field are shown.
    @property
    def lines(self):
        return self["sku-0"]

    @property
    def shares(self):
        return self.share_person

    @property
    def referred_partner_id(self):
        return self.referred_legal_id

    def product_lines(self) -> list[tuple[str, int]]:
        """The product lines filled in: (SKU, quantity; 0 when it is no whole number)."""
        lines = []
        for n in range(LINE_ROWS):
            sku = (self[f"sku-{n}"].data or "").strip()
            qty = (self[f"qty-{n}"].data or "").strip()
            if sku or qty:
                # Only ASCII digits: "²" is a digit to str.isdigit() but not to int().
                lines.append((sku, int(qty) if qty.isascii() and qty.isdigit() else 0))
        return lines


for _n in range(LINE_ROWS):
    setattr(ClaimForm, f"sku-{_n}", StringField())
    setattr(ClaimForm, f"qty-{_n}", StringField())


class ReasonForm(FlaskForm):
    """A decision's reason (a rejection's, seen by the claimant or the partner)."""

    reason = StringField(default="")


class ClaimDecisionForm(ReasonForm):
    """A claim's decision: for an install sent as a photo alone, the serial read on it; for a
    sale sent as a photo of its invoice, the invoice number and products read on it."""

    serial = StringField(default="")
    invoice_number = StringField(default="")
    #: "HP-9 2, BX-24 1": each product, then its quantity.
    lines = StringField(default="")


class SalesImportForm(FlaskForm):
    file = FileField()


# ---------------------------------------------------------------- rewards and the pool


class RewardForm(FlaskForm):
    kind = StringField(default="")
    category = StringField(default="")
    name = StringField(default="")
    points_price = WholeNumberField()
    stock = WholeNumberField()
    description = StringField(default="")
    image = FileField()
    #: An edit's fields: "yes" while it is offered, and the stock the page showed.
    active = StringField(default="")
    stock_shown = WholeNumberField()

    @property
    def photo(self):
        """Where a refused picture is reported (`channel.uploads` calls every file a photo)."""
        return self.image

    #: Only where problems with the offers and the texts in other languages are shown.
    offers = StringField(default="")
    texts = StringField(default="")
    #: The countries the page offers to choose, each with its fields (`reward_form`).
    countries: tuple[str, ...] = ()

    def names(self) -> dict[str, str]:
        """The reward's name in each language, as typed ("" where none was)."""
        return {code: self[f"name_{code}"].data for code in LANGUAGES}

    def descriptions(self) -> dict[str, str]:
        """The reward's description in each language, as typed ("" where none was)."""
        return {code: self[f"description_{code}"].data for code in LANGUAGES}

    def offer_terms(self) -> tuple[OfferTerms, ...]:
        """The countries ticked, with what was typed for each."""
        return tuple(
            OfferTerms(
                country=country,
                points_price=self[f"price_{country}"].data,
                face_value=self[f"face_value_{country}"].data,
                currency=self[f"currency_{country}"].data,
            )
            for country in self.countries
            if self[f"offer_{country}"].data == "yes"
        )


for _code in LANGUAGES:
    setattr(RewardForm, f"name_{_code}", StringField(default=""))
    setattr(RewardForm, f"description_{_code}", StringField(default=""))


def reward_values(reward, countries) -> dict[str, str]:
    """An existing reward's fields as the reward form shows them, to be edited."""
    values = {
        "kind": reward.kind,
        "category": reward.category,
        "name": reward.name,
        "points_price": str(reward.points_price),
        "stock": "" if reward.stock is None else str(reward.stock),
        "stock_shown": "" if reward.stock is None else str(reward.stock),
        "description": reward.description or "",
        "active": "yes" if reward.active else "",
    }
    for text in reward.texts:
        values[f"name_{text.language}"] = text.name
        values[f"description_{text.language}"] = text.description
    for offer in reward.offers:
        if offer.country not in countries:
            continue
        values[f"offer_{offer.country}"] = "yes"
        if offer.points_price != reward.points_price:
            values[f"price_{offer.country}"] = str(offer.points_price)
        if offer.face_value is not None:
            values[f"face_value_{offer.country}"] = str(offer.face_value)
            values[f"currency_{offer.country}"] = offer.currency
    return values


def reward_form(countries) -> RewardForm:
    """A reward's form with an offer's fields for each of `countries`: ticked ("yes") or not,
    its price (empty: the usual one), its face value and currency (both empty: none)."""
    form_class = type("CountryRewardForm", (RewardForm,), {"countries": tuple(countries)})
    for country in countries:
        for prefix in ("offer", "price", "face_value", "currency"):
            setattr(form_class, f"{prefix}_{country}", StringField(default=""))
    return form_class()


class RedeemForm(FlaskForm):
    request_key = StringField()
    shipping_address = StringField()
    #: The account a cash-out is paid into.
    iban = StringField()
    #: "yes" once the person has seen what it costs: without it nothing is spent.
    confirm = StringField()


class GiftCardCodesForm(FlaskForm):
    codes = StringField(default="")
    file = FileField()


class PoolForm(FlaskForm):
    person_id = LooseIntegerField()
    points = LooseIntegerField()
    note = StringField(default="")
    request_key = StringField()

    @property
    def person(self):
        """Where a refused recipient is reported (`channel.pool.distribute` names the person)."""
        return self.person_id


# ---------------------------------------------------------------- co-op funds


class CoopAskForm(FlaskForm):
    fund_id = LooseIntegerField()
    description = StringField(default="")
    cost = StringField(default="")
    planned_on = IsoDateField()
    manufacturers_featured = LooseIntegerField()

    @property
    def fund(self):
        """Where a refused fund is reported."""
        return self.fund_id


class CoopClaimForm(FlaskForm):
    cost = StringField(default="")
    proof = StringField(default="")


class CoopFundForm(FlaskForm):
    name = StringField(default="")
    currency = StringField(default="")
    budget = StringField(default="")
    share_percent = StringField(default="50")


class TierBenefitForm(FlaskForm):
    """One benefit added to a tier; the operation judges what a kind needs."""

    kind = SelectField(_l("Benefit"))
    text = StringField(
        _l("What it is"),
        description=_l("E.g. the event and its month, or what comes early."),
    )
    contact_name = StringField(_l("Account manager's name"))
    contact = StringField(
        _l("Phone or e-mail"),
        description=_l("The account manager's, or the priority support line's."),
    )
