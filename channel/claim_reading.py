"""What people type or read for a claim sent as a photo: product lines as text, the serial on
an install's plate and the invoice number and lines on a sale's invoice.

A claim sent by phone may come as a photo alone (`channel.claims.submit_claim` takes it,
flagged for review); the reviewer then reads what is missing on the photo, and the claim is
checked as if the claimant had typed it. A rule it newly breaks (a serial or an invoice line
claimed already) refuses the approval and changes nothing. The functions here return the
problems by field; `channel.claims` raises them as `InvalidClaim`.
"""

import re
import unicodedata

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.claim_models import Claim, ClaimLine
from channel.fraud import FLAG_LABELS, claim_facts, claim_lock_keys, flags_of
from channel.models import Product
from channel.purchases import normal_serial
from channel.serial_checks import refused_serial
from core.db import lock_keys

#: More units than any one invoice line sells, and far below what the column holds.
MAX_LINE_QUANTITY = 100_000
#: The lengths of the claim's text columns.
TEXT_LENGTHS = {"invoice_number": 64, "serial": 100, "site": 255}
#: Between the lines of "HP-9 2, HP-12 x1; BX-24".
_SEPARATORS = re.compile(r"[\s,;]+")
#: A quantity: "2", "x2", "×2", "*2" (digits of any script, made ASCII first).
_QUANTITY = re.compile(r"[x×*]?(\d+)", re.IGNORECASE)


def product_lines(text: str) -> list[tuple[str, int]]:
    """(SKU, quantity) of each product in "HP-9 2, HP-12 x1 BX-24": a SKU, then its quantity
    when one follows (1 when none does). Never raises; the quantities are checked later."""
    lines: list[tuple[str, int]] = []
    expect_quantity = False
    for token in _SEPARATORS.split(_ascii_digits(text or "")):
        if not token:
            continue
        quantity = _QUANTITY.fullmatch(token)
        if expect_quantity and quantity:
            lines[-1] = (lines[-1][0], int(quantity.group(1)))
            expect_quantity = False
        else:
            lines.append((token.upper(), 1))
            expect_quantity = True
    return lines


def _ascii_digits(text: str) -> str:
    return "".join(
        str(unicodedata.decimal(ch)) if unicodedata.decimal(ch, None) is not None else ch
        for ch in text
    )


def line_errors(session: Session, lines: list[tuple[str, int]]) -> dict:
    """What is wrong with a claim's product lines, under "lines"; empty when they hold."""
    if not lines:
        return {"lines": _l("Add at least one product and quantity.")}
    skus = {sku.strip().upper() for sku, _ in lines}
    known = set(session.scalars(select(Product.sku).where(Product.sku.in_(skus))))
    if any(qty is None or qty <= 0 for _, qty in lines):
        return {"lines": _l("Quantities must be at least 1.")}
    if any(qty > MAX_LINE_QUANTITY for _, qty in lines):
        return {
            "lines": lazy_ngettext(
                "A line can hold at most %(num)s unit.",
                "A line can hold at most %(num)s units.",
                MAX_LINE_QUANTITY,
            )
        }
    if skus - known:
        return {"lines": _l("Unknown product: %(skus)s.", skus=", ".join(sorted(skus - known)))}
    return {}


def too_long(name: str, value: str | None) -> dict:
    """The problem of a text longer than its column, under `name`; empty when it fits."""
    longest = TEXT_LENGTHS[name]
    if len((value or "").strip()) <= longest:
        return {}
    return {
        name: lazy_ngettext("At most %(num)s character.", "At most %(num)s characters.", longest)
    }


def read_serial(session: Session, claim: Claim, serial: str | None) -> dict:
    """The serial a reviewer read on an install's photo, set on the claim when it holds."""
    serial = normal_serial(serial)
    if not serial:
        return {"serial": _l("Read the serial number on the photo and type it.")}
    if len(serial) > TEXT_LENGTHS["serial"]:
        return {"serial": _l("That is not a serial number.")}
    facts = claim_facts(session, claim)
    if (refused := refused_serial(session, facts, serial)) is not None:
        return {"serial": refused}
    claim.serial = serial
    return _rules_still_hold(session, claim, "serial", facts)


def read_invoice(
    session: Session, claim: Claim, invoice_number: str | None, lines: list[tuple[str, int]]
) -> dict:
    """The invoice number and product lines a reviewer read on a sale's invoice photo; what
    the claimant typed stays unless the reviewer typed something else."""
    invoice_number = (invoice_number or "").strip().upper() or claim.invoice_number
    if not invoice_number:
        return {"invoice_number": _l("Read the invoice number on the photo and type it.")}
    errors = too_long("invoice_number", invoice_number)
    if lines:
        errors |= line_errors(session, lines)
    elif not claim.lines:
        errors["lines"] = _l("Read the products and quantities on the invoice and type them.")
    if errors:
        return errors
    claim.invoice_number = invoice_number
    if lines:
        claim.lines = [
            ClaimLine(line_no=n, sku=sku.strip().upper(), quantity=qty)
            for n, (sku, qty) in enumerate(lines, 1)
        ]
    session.flush()
    return _rules_still_hold(session, claim, "lines")


def _rules_still_hold(session: Session, claim: Claim, field: str, facts=None) -> dict:
    """Lock what the claim now compares by and run the rules again: one it newly breaks
    refuses the reading (the caller rolls it back)."""
    lock_keys(session, *claim_lock_keys(claim))
    broken = [name for name in flags_of(session, claim, facts) if name not in claim.flags]
    if broken:
        return {field: " ".join(str(FLAG_LABELS[name]) for name in broken)}
    session.flush()
    return {}
