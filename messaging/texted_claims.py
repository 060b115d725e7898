"""Claims texted to us (SMS, WhatsApp): an install by `CLAIM <serial>`, a sale by
`SALE <invoice> <product> <quantity>…`, either with photos or as photos alone.

Each function submits one claim through `channel.claims` and returns the answer, in the
sender's language (the caller holds their time zone). Photos (`messaging.inbound_media`)
become the claim's proof; what the text does not say, a reviewer reads on them, so the claim
waits for review and the answer says so. A claim refused keeps none of its photos: it never
marks them attached, and the webhook removes them.
"""

from datetime import date, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _

from channel.claim_models import ClaimKind, ClaimStatus
from channel.claim_reading import TEXT_LENGTHS, product_lines
from channel.claims import ClaimDetails, InvalidClaim, submit_claim
from channel.home import next_claim_kinds
from channel.serial_checks import SERIAL_FLAG_LABELS
from core.i18n import plural_text
from messaging import commands
from messaging.commands import CLAIM, SALE
from messaging.inbound_media import TextedPhotos
from roles.models import Person
from roles.permissions import Permission

#: The kinds of claim a photo alone can make: of a serial plate, of an invoice.
CLAIMED_BY_PHOTO = (ClaimKind.INSTALL, ClaimKind.SALE)


def claim_kind_of(person: Person, command: commands.Command) -> str:
    """What a message claims: an install (CLAIM), a sale (SALE), or else the person's own
    kind (photos alone from a seller are an invoice's, from a technician a plate's)."""
    if command.name == SALE:
        return ClaimKind.SALE
    if command.name == CLAIM:
        return ClaimKind.INSTALL
    own = [kind for kind in next_claim_kinds(person.roles) if kind in CLAIMED_BY_PHOTO]
    return own[0] if own else ClaimKind.INSTALL


def claim_install(
    session,
    person: Person,
    command: commands.Command,
    *,
    today: date,
    language: str,
    claim_word: str,
    return_window: timedelta,
    photos: TextedPhotos | None = None,
) -> str:
    """CLAIM <serial>, with or without photos of the plate; photos alone wait for a reviewer
    to read the serial on them."""
    serial = commands.first_token(command.argument).upper()
    if photos is not None and command.name != CLAIM:
        serial = ""  # a photo's caption is not a serial number
    if photos is not None and photos.refused is not None:
        with force_locale(language):
            return str(photos.refused)
    if len(serial) > TEXT_LENGTHS["serial"] or not (serial or photos):
        with force_locale(language):
            return _(
                "Text %(claim)s and the serial number from the plate, e.g. %(claim)s AB12345.",
                claim=claim_word,
            )
    if not person.can(Permission.SUBMIT_CLAIMS):
        with force_locale(language):
            return _("Only partner staff register installs.")
    details = ClaimDetails(
        kind=ClaimKind.INSTALL,
        occurred_on=today,
        serial=serial or None,
        photos=list(photos.stored) if photos else [],
    )
    try:
        claim = submit_claim(session, person, details, today=today, return_window=return_window)
    except InvalidClaim as invalid:
        with force_locale(language):
            return " ".join(str(reason) for reason in invalid.errors.values())
    if photos is not None:
        photos.attached = True
    with force_locale(language):
        if not claim.serial:
            return plural_text(
                "Photo received. We will read the serial number and let you know.",
                "%(num)s photos received. We will read the serial number and let you know.",
                len(claim.photos),
            )
        if claim.status == ClaimStatus.APPROVED:
            return _("Install %(serial)s is registered. Thank you!", serial=claim.serial)
        if "duplicate_serial" in claim.flags:
            return _(
                "Install %(serial)s will be reviewed: this serial number was already claimed.",
                serial=claim.serial,
            )
        if serial_flags := [flag for flag in claim.flags if flag in SERIAL_FLAG_LABELS]:
            # What the registry says of the unit: the claimant can check the plate.
            return _(
                "Install %(serial)s will be reviewed. %(reason)s",
                serial=claim.serial,
                reason=SERIAL_FLAG_LABELS[serial_flags[0]],
            )
        return _("Install %(serial)s is received and will be reviewed.", serial=claim.serial)


def claim_sale(
    session,
    person: Person,
    command: commands.Command,
    *,
    today: date,
    language: str,
    sale_word: str,
    return_window: timedelta,
    photos: TextedPhotos | None = None,
) -> str:
    """SALE <invoice> <product> <quantity>…, with or without photos of the invoice; photos
    with less (no invoice number, no product) wait for a reviewer to read the rest on them."""
    invoice, products = ("", "")
    if command.name == SALE:  # a photo's caption is no invoice number
        invoice, products = commands.sale_argument(command.argument)
    lines = product_lines(products)
    if photos is not None and photos.refused is not None:
        with force_locale(language):
            return str(photos.refused)
    if len(invoice) > TEXT_LENGTHS["invoice_number"] or not (photos or (invoice and lines)):
        with force_locale(language):
            return _(
                "Text %(sale)s, the invoice number, then each product and its quantity, "
                "e.g. %(sale)s 1234 HP-9 2. Or send a photo of the invoice.",
                sale=sale_word,
            )
    if not person.can(Permission.SUBMIT_CLAIMS):
        with force_locale(language):
            return _("Only partner staff submit claims.")
    details = ClaimDetails(
        kind=ClaimKind.SALE,
        occurred_on=today,
        invoice_number=invoice or None,
        lines=lines,
        photos=list(photos.stored) if photos else [],
    )
    try:
        claim = submit_claim(session, person, details, today=today, return_window=return_window)
    except InvalidClaim as invalid:
        with force_locale(language):
            return " ".join(str(reason) for reason in invalid.errors.values())
    if photos is not None:
        photos.attached = True
    with force_locale(language):
        if not (claim.invoice_number and claim.lines):
            return plural_text(
                "Invoice photo received. We will read the invoice and let you know.",
                "%(num)s invoice photos received. We will read the invoice and let you know.",
                len(claim.photos),
            )
        if claim.status == ClaimStatus.APPROVED:
            return _(
                "Sale on invoice %(invoice)s is registered. Thank you!",
                invoice=claim.invoice_number,
            )
        if "duplicate_invoice_line" in claim.flags:
            return _(
                "Sale on invoice %(invoice)s will be reviewed: this invoice line was already "
                "claimed.",
                invoice=claim.invoice_number,
            )
        return _(
            "Sale on invoice %(invoice)s is received and will be reviewed.",
            invoice=claim.invoice_number,
        )
