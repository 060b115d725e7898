"""Importing purchases (sell-in): invoice and credit-note lines with the serials they shipped.

Every line is checked before anything is written and either stored whole (the line, its
serials' new states and their events) or reported with its reason. Lines already stored
(same seller, document, number and line) count as already imported and change nothing.

Concurrency: an import first takes one lock for purchase imports (`core.db.lock_keys`), so
two imports run one after the other and the second finds the first's lines stored; the
serial rows a chunk changes are locked (FOR UPDATE) against install claims. Lines go in
chunks through the driver's bulk path (`core.bulk`: COPY on PostgreSQL); on PostgreSQL a
chunk's rows are written on a thread of their own while the next chunk's lines are checked
(`WritesBehind`), and the next chunk's look-ups wait for those writes.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.exchange_rates import NoRate, RateBook, known_currency
from channel.models import Product
from channel.partner_models import PartnerOrganization
from channel.purchases import (
    MAX_NUMBER,
    MAX_SERIAL,
    DocumentKind,
    PurchaseLine,
    normal_serial,
    purchase_key,
)
from channel.serial_registry import Registry, Shipment
from channel.tiers import purchase_days, recompute_after_purchases
from core.bulk import BulkWriter, WritesBehind
from core.db import lock_keys, utcnow
from core.tables import UnreadableFile, date_cell, table_rows

REQUIRED = ("partner", "invoice_number", "line", "date", "sku", "quantity", "amount", "currency")
#: Rows one file may hold.
MAX_ROWS = 200_000
CHUNK = 5000
MAX_LINE_NUMBER = 1_000_000
#: Units on one line, and serials listed on one line.
MAX_QUANTITY = 1_000_000
MAX_SERIALS = 10_000
#: Far above any invoice line, within the amount column's 12 whole digits.
MAX_AMOUNT = Decimal(10) ** 11
_SERIAL_SEPARATORS = re.compile(r"[\s,;|]+")
#: An amount as most files write it: digits, a decimal point and cents, under MAX_AMOUNT.
_PLAIN_AMOUNT = re.compile(r"-?[0-9]{1,11}(?:\.[0-9]{1,2})?")
_CENT = Decimal("0.01")
_DOCUMENTS = {
    "": DocumentKind.INVOICE,
    "invoice": DocumentKind.INVOICE,
    "credit_note": DocumentKind.CREDIT_NOTE,
    "credit note": DocumentKind.CREDIT_NOTE,
    "credit": DocumentKind.CREDIT_NOTE,
}


class UnreadablePurchasesFile(UnreadableFile):
    """The file as a whole cannot be read; nothing was imported."""


@dataclass
class PurchasesReport:
    imported: int = 0
    already_imported: int = 0
    #: Serials registered or moved by the imported lines.
    serials: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    #: Lines stored whose currency has no rate for their date yet: nothing is paid on them
    #: until the rates are imported.
    held: list[tuple[int, str]] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return self.imported + self.already_imported + len(self.rejected)


@dataclass(kw_only=True)
class _Line(Shipment):
    number: int
    key: str
    invoice: str
    line: int
    quantity: int
    amount: Decimal
    currency: str


def read_purchases(data: bytes, max_rows: int = MAX_ROWS):
    """(line number, row) of a purchases file, CSV or XLSX (`core.tables.table_rows`)."""
    return table_rows(data, REQUIRED, max_rows, UnreadablePurchasesFile)


class _Directory:
    """Partners and products, loaded once for the whole import."""

    def __init__(self, session: Session):
        self.partners: dict[str, list] = {}
        self.names: dict[int, str] = {}
        for partner in session.execute(
            select(
                PartnerOrganization.id,
                PartnerOrganization.legal_id,
                PartnerOrganization.country,
                PartnerOrganization.name,
            )
        ):
            self.partners.setdefault(partner.legal_id.upper(), []).append(partner)
            self.names[partner.id] = partner.name
        self.skus = set(session.scalars(select(Product.sku)))
        self.rates = RateBook(session)
        self._missing: dict[tuple[str, date], object] = {}
        self._found: dict[tuple[str, str], tuple] = {}

    def missing_rate(self, currency: str, day: date):
        """Why an amount in `currency` on `day` cannot be converted yet, or None."""
        if (currency, day) not in self._missing:
            try:
                self.rates.per_eur(currency, day)
                reason = None
            except NoRate as missing:
                reason = _l("Stored, and held: %(reason)s", reason=missing.errors["currency"])
            self._missing[currency, day] = reason
        return self._missing[currency, day]

    def partner(self, legal_id: str, country: str):
        """(partner, problem) for a legal id, told apart by country where two share it."""
        if (legal_id, country) not in self._found:
            self._found[legal_id, country] = self._partner(legal_id, country)
        return self._found[legal_id, country]

    def _partner(self, legal_id: str, country: str):
        found = self.partners.get(legal_id.upper(), [])
        if country:
            found = [p for p in found if p.country == country.upper()]
        if len(found) == 1:
            return found[0], None
        if not found:
            return None, _l("No partner with the legal id “%(id)s”.", id=legal_id[:64])
        return None, _l(
            "Partners in several countries have the legal id “%(id)s”: add a country column.",
            id=legal_id[:64],
        )


def import_purchases(
    session: Session, rows: Iterable, *, today: date, on_progress=None
) -> PurchasesReport:
    """Import purchase lines; each is stored whole or reported, never half-written."""
    lock_keys(session, "purchase-import")
    directory, writer = _Directory(session), BulkWriter(session)
    report = PurchasesReport()
    pending: list[_Line] = []
    seen: dict[str, int] = {}
    bought: list[tuple[int, date]] = []
    read = 0
    # A chunk's lines are checked while the previous chunk's rows are being written.
    with WritesBehind(session) as writes:
        for number, row in rows:
            read += 1
            problem, line = _check_row(number, row, directory, today)
            if problem is not None:
                report.rejected.append((number, str(problem)))
            elif line.key in seen:  # the same line twice in one file
                report.already_imported += 1
            else:
                seen[line.key] = number
                pending.append(line)
                bought.append((line.partner_id, line.day))
            if len(pending) >= CHUNK:
                _import_chunk(session, writer, writes, pending, directory, report)
                _progress(on_progress, read)
                pending, read = [], 0
        _import_chunk(session, writer, writes, pending, directory, report)
    _progress(on_progress, read)
    recompute_after_purchases(session, purchase_days(bought), utcnow())  # tiers move on
    return report


def _serial_too_long():
    return lazy_ngettext(
        "A serial number can be at most %(num)s character.",
        "A serial number can be at most %(num)s characters.",
        MAX_SERIAL,
    )


def _texts(row: dict, required) -> dict[str, str]:
    """The row's cells as stripped text, every required column there (a workbook's short row
    lacks its last cells)."""
    text = dict.fromkeys(required, "")
    for name, value in row.items():
        text[name] = (
            value if type(value) is str else str(value if value is not None else "")
        ).strip()
    return text


def _progress(on_progress, count: int) -> None:
    if on_progress is not None and count:
        on_progress(count)


def _check_row(number: int, row: dict, directory: _Directory, today: date):
    text = _texts(row, REQUIRED)
    if "\x00" in "".join(text.values()):
        return _l("The line holds a NUL character, which cannot be saved."), None
    document = _DOCUMENTS.get(text.get("document", "").lower().replace("-", "_"))
    if document is None:
        return _l("The document must be “invoice” or “credit_note”."), None
    partner, problem = directory.partner(text["partner"], text.get("country", ""))
    if problem is not None:
        return problem, None
    seller = None
    if text.get("seller"):
        seller, problem = directory.partner(text["seller"], text.get("seller_country", ""))
        if problem is not None:
            return problem, None
        if seller.id == partner.id:
            return _l("A partner cannot invoice itself."), None
    invoice = text["invoice_number"].upper()
    if not invoice or len(invoice) > MAX_NUMBER:
        return _l("The invoice number is missing or longer than %(max)s.", max=MAX_NUMBER), None
    try:
        line_no, quantity = int(text["line"]), int(text["quantity"])
    except ValueError:
        return _l("The line number and the quantity must be whole numbers."), None
    if not 1 <= line_no <= MAX_LINE_NUMBER:
        return _l("The line number must be from 1 to %(max)s.", max=MAX_LINE_NUMBER), None
    if quantity == 0 or abs(quantity) > MAX_QUANTITY:
        return (
            lazy_ngettext(
                "The quantity must be from 1 to %(num)s unit.",
                "The quantity must be from 1 to %(num)s units.",
                MAX_QUANTITY,
            ),
            None,
        )
    if quantity < 0 and document is DocumentKind.INVOICE:
        return _l("A negative quantity belongs on a credit note (document: credit_note)."), None
    amount = _amount(text["amount"])
    if amount is None:
        return _l("The amount “%(value)s” is not a number.", value=text["amount"][:40]), None
    if amount < 0 and document is DocumentKind.INVOICE:
        return _l("A negative amount belongs on a credit note (document: credit_note)."), None
    currency = text["currency"].upper()
    if not known_currency(currency):
        return _l("“%(currency)s” is not a currency code.", currency=currency[:10]), None
    day = date_cell(row.get("date"))
    if day is None or day > today:
        return _l("The date is missing, unreadable (use YYYY-MM-DD) or in the future."), None
    sku = text["sku"].upper()
    if sku not in directory.skus:
        return _l("Unknown product “%(sku)s”.", sku=sku[:64]), None
    serials, problem = _serials(text.get("serials", ""), abs(quantity))
    if problem is not None:
        return problem, None
    sign = -1 if document is DocumentKind.CREDIT_NOTE else 1
    seller_key = f"{seller.country}/{seller.legal_id}" if seller is not None else None
    return None, _Line(
        number=number,
        key=purchase_key(seller_key, document, invoice, line_no),
        seller_id=seller.id if seller is not None else None,
        partner_id=partner.id,
        document=document,
        invoice=invoice,
        line=line_no,
        day=day,
        sku=sku,
        quantity=sign * abs(quantity),
        amount=sign * abs(amount),
        currency=currency,
        serials=serials,
    )


def _amount(raw: str) -> Decimal | None:
    if _PLAIN_AMOUNT.fullmatch(raw):  # most amounts: parsed once, with no checks left to make
        return Decimal(raw).quantize(_CENT)
    text = raw.replace(" ", "").replace("\u00a0", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")  # a decimal comma
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or abs(value) >= MAX_AMOUNT:
        return None
    cents = value.quantize(_CENT)
    return cents if cents == value else None


def _serials(raw: str, units: int):
    # As `normal_serial` has them: the pieces between separators hold no spaces to strip.
    serials = [serial for serial in _SERIAL_SEPARATORS.split(raw.upper()) if serial]
    if len(serials) > min(units, MAX_SERIALS):
        return None, lazy_ngettext(
            "The line lists %(num)s serial number, more than its quantity (%(units)s).",
            "The line lists %(num)s serial numbers, more than its quantity (%(units)s).",
            len(serials),
            units=units,
        )
    if serials and max(map(len, serials)) > MAX_SERIAL:
        return None, _serial_too_long()
    if len(set(serials)) < len(serials):
        return None, _l("The line lists one serial number twice.")
    return serials, None


def _import_chunk(
    session: Session, writer: BulkWriter, writes, lines: list[_Line], directory, report
):
    """Check `lines` against what is stored, then hand their rows to `writes`."""
    if not lines:
        return
    writes.wait()  # the stored lines and units now include the previous chunk's
    known = writer.existing(PurchaseLine.__table__.c.source_key, [line.key for line in lines])
    report.already_imported += sum(1 for line in lines if line.key in known)
    lines = [line for line in lines if line.key not in known]
    registry = Registry(session, {s for line in lines for s in line.serials}, directory.names)
    accepted = []
    for line in lines:
        if (problem := registry.move(line)) is not None:
            report.rejected.append((line.number, str(problem)))
        else:
            accepted.append(line)
    if not accepted:
        return
    report.imported += len(accepted)
    report.serials += registry.moves
    for line in accepted:
        if (problem := directory.missing_rate(line.currency, line.day)) is not None:
            report.held.append((line.number, str(problem)))
    writes.run(lambda: _write_chunk(writer, accepted, registry))


def _write_chunk(writer: BulkWriter, accepted: list[_Line], registry: Registry) -> None:
    now = utcnow()
    table = PurchaseLine.__table__
    for line, line_id in zip(accepted, writer.next_ids(table, len(accepted)), strict=True):
        line.id = line_id
    writer.insert_values(
        table,
        (
            "id", "source_key", "seller_id", "partner_id", "document", "number", "line",
            "invoiced_on", "sku", "quantity", "amount", "currency",
        ),
        (
            (line.id, line.key, line.seller_id, line.partner_id, str(line.document),
             line.invoice, line.line, line.day, line.sku, line.quantity, line.amount,
             line.currency)
            for line in accepted
        ),
        constants={"imported_at": now},
    )  # fmt: skip
    registry.write(writer, now)


SERIAL_COLUMNS = ("serial", "sku", "partner", "date")


@dataclass
class SerialsReport:
    registered: int = 0
    already_known: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def read_serials(data: bytes, max_rows: int = MAX_ROWS):
    """(line number, row) of a serial list (a warehouse's shipping export), CSV or XLSX."""
    return table_rows(data, SERIAL_COLUMNS, max_rows, UnreadablePurchasesFile)


def import_serials(session: Session, rows: Iterable, *, today: date) -> SerialsReport:
    """Register serials shipped by the manufacturer to partners, without invoice lines."""
    lock_keys(session, "purchase-import")
    directory, report = _Directory(session), SerialsReport()
    checked = []
    for number, row in rows:
        text = {
            name: str(value if value is not None else "").strip() for name, value in row.items()
        }
        partner, problem = directory.partner(text["partner"], text.get("country", ""))
        serial, sku, day = (
            normal_serial(text["serial"]),
            text["sku"].upper(),
            date_cell(row.get("date")),
        )
        if problem is None and not serial:
            problem = _l("No serial number.")
        elif problem is None and len(serial) > MAX_SERIAL:
            problem = _serial_too_long()
        elif problem is None and sku not in directory.skus:
            problem = _l("Unknown product “%(sku)s”.", sku=sku[:64])
        elif problem is None and (day is None or day > today):
            problem = _l("The date is missing, unreadable (use YYYY-MM-DD) or in the future.")
        if problem is not None:
            report.rejected.append((number, str(problem)))
        else:
            checked.append((number, Shipment(partner.id, sku, [serial], day)))
    for start in range(0, len(checked), CHUNK):
        chunk = checked[start : start + CHUNK]
        registry = Registry(session, {s.serials[0] for _, s in chunk}, directory.names)
        for number, shipment in chunk:
            unit = registry.known(shipment.serials[0])
            if unit is not None and (unit["holder_id"], unit["sku"]) == (
                shipment.partner_id,
                shipment.sku,
            ):
                report.already_known += 1
            elif (problem := registry.move(shipment)) is not None:
                report.rejected.append((number, str(problem)))
            else:
                report.registered += 1
        registry.write(BulkWriter(session), utcnow())
    return report
