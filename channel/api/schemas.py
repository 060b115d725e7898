"""What the API reads and returns, as marshmallow schemas: they validate and document it."""

from marshmallow import Schema, ValidationError, fields, validate

from channel.claim_models import ClaimKind, ClaimStatus
from channel.ledger import Bucket, EntryKind
from channel.purchases import DocumentKind, SerialStatus
from channel.rewards import RedemptionStatus

#: Largest id the databases store (a 32-bit integer column).
MAX_ID = 2**31 - 1
MAX_PER_PAGE = 100
MAX_SALES_LINES = 1000

Id = validate.Range(min=1, max=MAX_ID)


class Text(fields.String):
    """A string the database can hold: no NUL characters, within its column once upper-cased."""

    def __init__(self, max_length: int, **kwargs):
        super().__init__(validate=validate.Length(max=max_length), **kwargs)
        self.max_length = max_length

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in value:
            raise ValidationError("NUL characters are not allowed.")
        if len(value.strip().upper()) > self.max_length:
            raise ValidationError(f"Longer than {self.max_length} characters.")
        return value


# ---------------------------------------------------------------- errors and pages


class ErrorDetailSchema(Schema):
    code = fields.String(
        required=True, metadata={"description": "Stable code, e.g. not_found, invalid_input."}
    )
    message = fields.String(required=True, metadata={"description": "For people, in English."})
    details = fields.Dict(
        required=True,
        metadata={"description": "Field errors under `fields`, keyed by location and field."},
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The page envelope around `item_schema`: items, page, per_page and the total count."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return type(
        name,
        (Schema,),
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(required=True),
        },
    )


# ---------------------------------------------------------------- what the API reads


class PartnerSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    country = fields.String(required=True, metadata={"description": "ISO 3166-1 alpha-2."})
    legal_id = fields.String(required=True)
    status = fields.String(required=True)
    parent_id = fields.Integer(required=True, allow_none=True)
    tier = fields.String(required=True, allow_none=True, metadata={"description": "Tier code."})
    contract_started_on = fields.Date(
        required=True, allow_none=True, metadata={"description": "Null: not known."}
    )


class PersonSchema(Schema):
    id = fields.Integer(required=True)
    partner_id = fields.Integer(required=True, allow_none=True)
    full_name = fields.String(required=True)
    phone = fields.String(required=True, metadata={"description": "E.164."})
    email = fields.String(required=True, allow_none=True)
    language = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True)


class PeopleArgs(PageArgs):
    partner_id = fields.Integer(validate=Id)


class ProductSchema(Schema):
    id = fields.Integer(required=True)
    sku = fields.String(required=True)
    name = fields.String(required=True)
    group = fields.String(required=True, metadata={"description": "Product group code."})
    points_per_unit = fields.Integer(required=True, allow_none=True)
    active = fields.Boolean(required=True)


class ProgramSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    status = fields.String(required=True)
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(required=True, metadata={"description": "Exclusive."})
    currency = fields.String(required=True)
    point_value = fields.Decimal(
        required=True,
        as_string=True,
        metadata={"type": "string", "format": "decimal", "description": "One point in `currency`."},
    )
    budget_points = fields.Integer(required=True, allow_none=True)
    version = fields.Integer(required=True)


class RewardOfferSchema(Schema):
    country = fields.String(required=True, metadata={"description": "ISO 3166 country code."})
    points_price = fields.Integer(required=True)
    face_value = fields.Decimal(
        required=True, allow_none=True, as_string=True, metadata={"description": "Money."}
    )
    currency = fields.String(required=True, allow_none=True)


class RewardSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    category = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    points_price = fields.Integer(
        required=True,
        metadata={
            "description": "The price in the token's partner's country; for a manufacturer's "
            "token the usual price (see offers)."
        },
    )
    face_value = fields.Decimal(
        required=True,
        allow_none=True,
        as_string=True,
        metadata={"description": "What it is worth in the partner's country, in `currency`."},
    )
    currency = fields.String(required=True, allow_none=True)
    offers = fields.List(fields.Nested(RewardOfferSchema), required=True)
    left = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "Items or gift card codes left; null: unlimited."},
    )


class BalanceSchema(Schema):
    person_id = fields.Integer(required=True)
    pending = fields.Integer(required=True, metadata={"description": "Points in a return window."})
    available = fields.Integer(required=True, metadata={"description": "Points to spend."})


class LedgerEntrySchema(Schema):
    id = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(list(EntryKind)))
    bucket = fields.String(required=True, validate=validate.OneOf(list(Bucket)))
    points = fields.Integer(required=True, metadata={"description": "Signed."})
    partner_id = fields.Integer(required=True)
    person_id = fields.Integer(required=True, allow_none=True)
    program_id = fields.Integer(required=True, allow_none=True)
    to_pool = fields.Boolean(required=True)
    rule_kind = fields.String(required=True, allow_none=True)
    memo = fields.String(required=True, allow_none=True)
    available_at = fields.DateTime(required=True, allow_none=True)


class LedgerArgs(PageArgs):
    person_id = fields.Integer(validate=Id)
    partner_id = fields.Integer(validate=Id)
    program_id = fields.Integer(validate=Id)
    since = fields.Date(metadata={"description": "Entries made on or after this day (UTC)."})
    until = fields.Date(metadata={"description": "Entries made on or before this day (UTC)."})


# ---------------------------------------------------------------- what the API creates


class IdempotencyHeader(Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=validate.Regexp(r"^[A-Za-z0-9_\-.:]{1,64}$"),
        metadata={
            "description": "Repeat a request with the same key and body to get the same answer "
            "without a second write (1-64 of A-Z a-z 0-9 _ - . :)."
        },
    )


class ClaimLineSchema(Schema):
    sku = Text(64, required=True)
    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000))


class ClaimShareSchema(Schema):
    person_id = fields.Integer(required=True, validate=Id)
    percent = fields.Integer(required=True, validate=validate.Range(min=1, max=100))


class ClaimInSchema(Schema):
    person_id = fields.Integer(
        required=True, validate=Id, metadata={"description": "The claimant, one of the staff."}
    )
    kind = fields.String(required=True, validate=validate.OneOf(list(ClaimKind)))
    occurred_on = fields.Date(required=True)
    lines = fields.List(
        fields.Nested(ClaimLineSchema), load_default=list, validate=validate.Length(max=50)
    )
    invoice_number = Text(64, load_default=None, allow_none=True)
    serial = Text(100, load_default=None, allow_none=True)
    site = Text(255, load_default=None, allow_none=True)
    amount = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[0-9]{1,12}([.][0-9]{1,2})?$"),
        metadata={
            "format": "decimal",
            "description": 'Money amount of an order or payment, as a string: "1250.00".',
        },
    )
    due_on = fields.Date(load_default=None, allow_none=True)
    shares = fields.List(
        fields.Nested(ClaimShareSchema),
        load_default=list,
        validate=validate.Length(max=10),
        metadata={"description": "A sale shared with colleagues; percents add up to 100."},
    )
    referred_legal_id = Text(
        64,
        load_default=None,
        allow_none=True,
        metadata={"description": "For a referral: the registration number of the company."},
    )


class ClaimSchema(Schema):
    id = fields.Integer(required=True)
    person_id = fields.Integer(required=True)
    partner_id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(list(ClaimKind)))
    status = fields.String(required=True, validate=validate.OneOf(list(ClaimStatus)))
    occurred_on = fields.Date(required=True)
    invoice_number = fields.String(required=True, allow_none=True)
    serial = fields.String(required=True, allow_none=True)
    flags = fields.List(
        fields.String(), required=True, metadata={"description": "Fraud rules that held it."}
    )
    lines = fields.List(fields.Nested(ClaimLineSchema), required=True)


class SalesLineSchema(Schema):
    invoice_number = Text(64, required=True)
    line = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    date = fields.Date(required=True)
    sku = Text(64, required=True)
    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000))
    seller = Text(
        254,
        required=True,
        metadata={
            "description": "The seller's e-mail, or phone: E.164 (+48501000003), or as "
            "dialled in the country of the seller's partner (501 000 003)."
        },
    )


class SalesLinesInSchema(Schema):
    lines = fields.List(
        fields.Nested(SalesLineSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_SALES_LINES),
    )


class RejectedLineSchema(Schema):
    index = fields.Integer(required=True, metadata={"description": "1-based, in `lines`."})
    reason = fields.String(required=True)


class SalesReportSchema(Schema):
    imported = fields.Integer(required=True)
    already_imported = fields.Integer(required=True)
    rejected = fields.List(fields.Nested(RejectedLineSchema), required=True)


class RedemptionInSchema(Schema):
    person_id = fields.Integer(required=True, validate=Id)
    reward_id = fields.Integer(required=True, validate=Id)
    shipping_address = Text(1000, load_default=None, allow_none=True)
    #: The account a cash-out is paid into; checked as an IBAN when the reward is a cash-out.
    iban = Text(64, load_default=None, allow_none=True)


class RedemptionSchema(Schema):
    id = fields.Integer(required=True)
    person_id = fields.Integer(required=True)
    reward_id = fields.Integer(required=True)
    points = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(list(RedemptionStatus)))
    gift_card_code = fields.String(
        required=True, allow_none=True, metadata={"description": "For a gift card: its code."}
    )


# ---------------------------------------------------------------- purchases, rates, serials

MAX_PURCHASE_LINES = 1000
MAX_RATES = 1000
#: A serial as sent: one, so nothing that a list of serials is split on.
SERIAL_PATTERN = r"^[^\s,;|]{1,100}$"
#: Signed for a credit note; at most 12 whole digits and 2 decimals.
PURCHASE_AMOUNT_PATTERN = r"^-?[0-9]{1,12}([.][0-9]{1,2})?$"
#: Units of a currency for one euro: positive, up to 10 decimals.
RATE_PATTERN = r"^[0-9]{1,9}([.][0-9]{1,10})?$"


class PurchaseLineSchema(Schema):
    document = fields.String(
        load_default="invoice",
        validate=validate.OneOf(list(DocumentKind)),
        metadata={"description": "A credit note's quantity and amount count as negative."},
    )
    seller = Text(
        64,
        load_default="",
        metadata={
            "description": "The legal id of the partner that invoiced; empty: the manufacturer. "
            "A partner's token may leave it empty for its own legal id."
        },
    )
    seller_country = Text(
        2, load_default="", metadata={"description": "Only where two sellers share a legal id."}
    )
    partner = Text(64, required=True, metadata={"description": "The buyer's legal id."})
    country = Text(
        2,
        load_default="",
        metadata={"description": "The buyer's country, only where two partners share a legal id."},
    )
    invoice_number = Text(64, required=True)
    line = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=1, max=1_000_000),
        metadata={"description": "The line's number on its document."},
    )
    date = fields.Date(required=True, metadata={"description": "The document's date."})
    sku = Text(64, required=True)
    quantity = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=-1_000_000, max=1_000_000),
        metadata={"description": "Units; negative only on a credit note."},
    )
    amount = fields.String(
        required=True,
        validate=validate.Regexp(
            PURCHASE_AMOUNT_PATTERN, error='Send the amount as a decimal string: "1250.00".'
        ),
        metadata={
            "format": "decimal",
            "description": 'Net amount of the line, as a string: "1250.00" (never a number).',
        },
    )
    currency = Text(3, required=True, metadata={"description": "ISO 4217, e.g. EUR, PLN."})
    serials = fields.List(
        fields.String(validate=validate.Regexp(SERIAL_PATTERN)),
        load_default=list,
        validate=validate.Length(max=10_000),
        metadata={"description": "The serial numbers the line shipped, at most its quantity."},
    )


class PurchaseLinesInSchema(Schema):
    lines = fields.List(
        fields.Nested(PurchaseLineSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_PURCHASE_LINES),
    )


class LineReasonSchema(Schema):
    line = fields.Integer(required=True, metadata={"description": "1-based, in `lines`."})
    reason = fields.String(required=True)


class PurchasesReportSchema(Schema):
    imported = fields.Integer(required=True)
    already_imported = fields.Integer(
        required=True, metadata={"description": "Lines stored before, left as they were."}
    )
    serials = fields.Integer(
        required=True, metadata={"description": "Serials registered or moved by the lines."}
    )
    rejected = fields.List(
        fields.Nested(LineReasonSchema),
        required=True,
        metadata={"description": "Lines not stored, with the reason."},
    )
    held = fields.List(
        fields.Nested(LineReasonSchema),
        required=True,
        metadata={"description": "Lines stored but not paid on until their currency has a rate."},
    )


class ExchangeRateInSchema(Schema):
    day = fields.Date(required=True)
    currency = Text(3, required=True, metadata={"description": "ISO 4217; not EUR."})
    per_eur = fields.String(
        required=True,
        validate=validate.Regexp(
            RATE_PATTERN, error='Send the rate as a decimal string: "4.2675".'
        ),
        metadata={"format": "decimal", "description": 'Units for one euro, as a string: "4.2675".'},
    )


class ExchangeRatesInSchema(Schema):
    rates = fields.List(
        fields.Nested(ExchangeRateInSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_RATES),
    )


class RejectedRateSchema(Schema):
    line = fields.Integer(required=True, metadata={"description": "1-based, in `rates`."})
    currency = fields.String(required=True)
    reasons = fields.List(fields.String(), required=True)


class RatesReportSchema(Schema):
    added = fields.Integer(required=True)
    unchanged = fields.Integer(
        required=True, metadata={"description": "Rates stored before with the same value."}
    )
    rejected = fields.List(fields.Nested(RejectedRateSchema), required=True)


class SerialHolderSchema(Schema):
    id = fields.Integer(required=True)
    legal_id = fields.String(required=True)
    name = fields.String(required=True)


class SerialEventSchema(Schema):
    status = fields.String(
        required=True,
        validate=validate.OneOf(list(SerialStatus)),
        metadata={"description": "The state the serial entered."},
    )
    partner_id = fields.Integer(required=True)
    happened_on = fields.Date(required=True)
    document = fields.String(required=True, allow_none=True)
    invoice_number = fields.String(
        required=True, allow_none=True, metadata={"description": "The purchase line's document."}
    )


class SerialSchema(Schema):
    serial = fields.String(required=True)
    sku = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(list(SerialStatus)))
    holder = fields.Nested(SerialHolderSchema, required=True)
    installed_at = fields.DateTime(required=True, allow_none=True)
    history = fields.List(
        fields.Nested(SerialEventSchema),
        required=True,
        metadata={"description": "Oldest first."},
    )
