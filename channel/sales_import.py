"""Importing distributors' sell-out data: every line checked, matched lines become approved claims.

Lines are matched to a person (by phone or e-mail) and a product (by SKU); a matched line
becomes an approved claim that earns like any other, an unmatched one is reported with its
reason, never dropped. Each line is keyed by partner, invoice and line number, so importing
the same file again — even at the same moment — changes nothing.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import phonenumbers
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channel.claim_models import Claim, ClaimKind, ClaimLine
from channel.claim_reading import MAX_LINE_QUANTITY
from channel.claims import approve_claim
from channel.models import Product
from channel.partner_models import PartnerOrganization
from channel.sales_batch import ChunkRows, SalesLine, compute_chunk, read_chunk, write_chunk
from channel.sales_context import ImportContext
from channel.signals import sales_imported
from core.bulk import BulkWriter, WritesBehind, collections_paused
from core.db import utcnow
from core.errors import InvalidInput
from core.tables import UnreadableFile, date_cell, table_rows
from core.zones import day_in, zone_named
from roles.models import Person

REQUIRED = ("invoice_number", "line", "date", "sku", "quantity", "seller")
#: The length of claims.invoice_number.
MAX_INVOICE = 64
#: More lines than any invoice has; keeps the line's key within claims.source_key.
MAX_LINE_NUMBER = 1_000_000
#: Rows one file may hold (IMPORT_MAX_ROWS in the app's configuration).
MAX_ROWS = 200_000


class UnreadableSalesFile(UnreadableFile):
    """The file as a whole cannot be read; nothing was imported."""


@dataclass
class SalesReport:
    imported: int = 0
    already_imported: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return self.imported + self.already_imported + len(self.rejected)


def read_sales(data: bytes, max_rows: int = MAX_ROWS) -> Iterator[tuple[int, dict]]:
    """(line number, row) from CSV (UTF-8, comma or semicolon) or XLSX, told apart by content;
    at most `max_rows` rows, blank ones counted (`core.tables`)."""
    return table_rows(data, REQUIRED, max_rows, UnreadableSalesFile)


class _Directory:
    """People and products loaded once for the whole file; with `sellers` (the spellings a
    small batch names), only the people those name.

    A seller's phone written with its country code matches whoever holds it; one written as
    dialled at home (052-234-5678) is read in each partner country and matches only staff
    of a partner in the country it was read in."""

    def __init__(
        self,
        session: Session,
        partner_id: int | None = None,
        sellers: set[str] | None = None,
    ):
        countries = select(PartnerOrganization.country).distinct()
        if partner_id is not None:
            countries = countries.where(PartnerOrganization.id == partner_id)
        self.countries = sorted(session.scalars(countries))
        staff = (
            select(
                Person.id,
                Person.phone,
                Person.email,
                Person.partner_id,
                Person.timezone,
                PartnerOrganization.country,
            )
            .join(PartnerOrganization, PartnerOrganization.id == Person.partner_id)
            .where(Person.active.is_(True))
        )
        if partner_id is not None:
            staff = staff.where(Person.partner_id == partner_id)
        if sellers is not None:
            emails = {raw.lower() for raw in sellers if "@" in raw}
            phones = {number for raw in sellers if "@" not in raw for number, _ in self._read(raw)}
            staff = staff.where(
                or_(Person.email.in_(sorted(emails)), Person.phone.in_(sorted(phones)))
            )
        people = session.execute(staff).all()
        self.by_phone = {p.phone: p for p in people}
        self.by_email = {p.email: p for p in people if p.email}
        self.skus = set(session.scalars(select(Product.sku).where(Product.active.is_(True))))
        #: Sellers repeat on every line of a file: each spelling is looked up once.
        self._seen: dict[str, object] = {}

    def person(self, raw: str):
        raw = (raw or "").strip()
        if raw not in self._seen:
            self._seen[raw] = self._find(raw)
        return self._seen[raw]

    def _find(self, raw: str):
        if "@" in raw:
            return self.by_email.get(raw.lower())
        for number, country in self._read(raw):
            person = self.by_phone.get(number)
            if person is not None and country in (None, person.country):
                return person
        return None

    def _read(self, raw: str) -> list[tuple[str, str | None]]:
        """(E.164, the country it was read in, None when the number names its own)."""
        if raw.startswith("+"):
            return [(number, None) for number in [_e164(raw, None)] if number]
        readings = ((_e164(raw, country), country) for country in self.countries)
        return [(number, country) for number, country in readings if number]


def _e164(raw: str, country: str | None) -> str | None:
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


#: Lines in a chunk once the import is under way.
CHUNK = 5000
#: Lines in the first chunk; each chunk after holds twice the one before, up to `CHUNK`. The
#: first chunk is computed with no write beside it, and each chunk's write waits for the
#: next one's look-ups: started small, the writes get going at once and the pipeline fills
#: up, instead of a small file's two chunks of 5,000 running almost one after the other.
FIRST_CHUNK = 1000


def _chunk_sizes() -> Iterator[int]:
    """How many of the file's lines each chunk takes, in order."""
    size = min(FIRST_CHUNK, CHUNK)
    while True:
        yield size
        size = min(size * 2, CHUNK)


def import_sales(
    session: Session,
    rows,
    *,
    now: datetime,
    return_window: timedelta = timedelta(days=30),
    on_progress=None,
    partner_id: int | None = None,
) -> SalesReport:
    """Import sales lines; each line is imported whole or reported, never half-written.

    A seller's phone is read in the country of the seller's partner unless it names its own.
    With `partner_id`, only that partner's staff are matched: a line naming anyone else is
    reported like an unknown seller. A line's day is its seller's: at `now` it may be today
    where they are, whatever the day in UTC.

    New lines are written a chunk at a time in bulk (`channel.sales_batch`); a chunk that
    collides with a concurrent import of the same lines is redone line by line, where each
    line already taken simply counts as already imported.
    """
    directory = _Directory(session, partner_id, _sellers_of_batch(rows))
    context = ImportContext(session)
    report = SalesReport()
    pending: list[SalesLine] = []
    seen: set[str] = set()
    sizes = _chunk_sizes()
    size = next(sizes)

    with WritesBehind(session) as writes:
        chunks = _Chunks(session, context, return_window, report, writes)

        def flush():
            nonlocal size
            size = next(sizes)
            chunks.add(pending)
            if on_progress is not None:
                on_progress(len(pending))
            pending.clear()

        for number, row in rows:
            problem, facts = _check_row(row, directory, now)
            if problem:
                report.rejected.append((number, str(problem)))
                if on_progress is not None:
                    on_progress(1)
                continue
            person, invoice, line_no, day, sku, quantity = facts
            key = f"sales:{person.partner_id}:{invoice}:{line_no}"
            if key in seen:  # the same line twice in one file
                report.already_imported += 1
                continue
            seen.add(key)
            pending.append(
                SalesLine(number, key, person.id, person.partner_id, invoice, day, sku, quantity)
            )
            if len(pending) >= size:
                flush()
        flush()
        chunks.close()
    context.finish()
    if context.earned:
        # Lines redone one by one were told like any approved claim; these are told once,
        # one message a person for the whole import: thousands of messages rendered at once,
        # with the cyclic collector paused as for a chunk (for 20,000 sellers the nudges took
        # 4.6 s instead of 5.3: bench/results/sales_import.md).
        with collections_paused():
            sales_imported.send(
                session=session,
                earnings=context.earned,
                skus=context.skus,
                occasion=f"sales-import:{context.first_claim_id}",
            )
    return report


def _sellers_of_batch(rows) -> set[str] | None:
    """The sellers a batch of rows in memory names (an API call's lines), so that only they
    are looked up; None for a file read as it goes, which loads the whole directory once."""
    if not isinstance(rows, Sequence) or len(rows) > CHUNK:
        return None
    return {str(row.get("seller") or "").strip() for _, row in rows}


class _Chunks:
    """The file's chunks of new lines, each computed while the one before is written.

    For each chunk: the write in flight is waited for, the chunk's look-ups (`read_chunk`) run
    while the database is idle, then the chunk computed before goes to `writes` (a thread of
    its own on PostgreSQL) while this one's rows are computed (`compute_chunk`, no database
    work), and the import goes on reading the file's next lines while that write goes on. The
    look-ups may run before the previous chunk is written: a chunk's lines are never in the
    previous one's (the file's duplicates are dropped first), the ids come from sequences,
    and the usage of anyone the previous chunk charged is already in memory. On SQLite, whose
    ids follow the rows written and whose writes run at once anyway, the previous chunk is
    written first.

    A chunk that collides with a concurrent import of the same lines (IntegrityError) is
    rolled back to its savepoint and redone line by line, where each line already taken
    simply counts as already imported; the chunk computed meanwhile counted on it, so it is
    read and computed again from what is now written.
    """

    def __init__(self, session, context: ImportContext, return_window, report, writes):
        self.session, self.context, self.return_window = session, context, return_window
        self.report, self.writes = report, writes
        #: The chunk being written, and the one computed after it: (its lines, its rows).
        self.writing: tuple[list[SalesLine], ChunkRows] | None = None
        self.computed: tuple[list[SalesLine], ChunkRows] | None = None

    def add(self, lines: list[SalesLine]) -> None:
        if not lines:
            return
        self._wait()
        known = BulkWriter(self.session).existing(
            Claim.__table__.c.source_key, [x.key for x in lines]
        )
        new = [line for line in lines if line.key not in known]
        self.report.already_imported += len(lines) - len(new)
        if not new:
            return
        if self.writes.inline:  # SQLite's ids follow the rows written: write those first
            self._start()
        reads = read_chunk(self.session, new, self.context)
        self._start()
        self.computed = (new, self._compute(reads))

    def close(self) -> None:
        self._wait()
        self._start()
        self._wait()

    def _compute(self, reads) -> ChunkRows:
        with collections_paused():  # a chunk's rows: several hundred thousand objects
            return compute_chunk(reads, self.context, self.return_window)

    def _start(self) -> None:
        """Hand the computed chunk to `writes` (none is being written)."""
        if self.computed is not None:
            self.writing, self.computed = self.computed, None
            rows = self.writing[1]
            self.writes.run(lambda: write_chunk(self.session, rows))

    def _wait(self) -> None:
        """Wait for the chunk being written; if it had to be redone line by line, compute the
        chunk computed since again."""
        if self.writing is None:
            return
        lines, rows = self.writing
        self.writing = None
        try:
            self.writes.wait()
        except IntegrityError:
            # A concurrent import took some of these lines: go one by one; the usage counted
            # for the rolled-back chunk, and for the one computed since, is read again.
            self._one_by_one(lines)
            self.context.forget_usage()
            if self.computed is not None:
                later = self.computed[0]
                reads = read_chunk(self.session, later, self.context)
                self.computed = (later, self._compute(reads))
            return
        self.report.imported += len(lines)
        self.context.count_earnings(
            rows.postings.rows, {line.sku for line in lines}, rows.first_claim_id, rows.deferred
        )

    def _one_by_one(self, lines: list[SalesLine]) -> None:
        for line in lines:
            person = self.session.get(Person, line.person_id)
            if _import_line(
                self.session,
                line.key,
                person,
                line.invoice,
                line.day,
                line.sku,
                line.quantity,
                self.return_window,
            ):
                self.report.imported += 1
            else:
                self.report.already_imported += 1


def _check_row(row: dict, directory: _Directory, now: datetime):
    if any("\x00" in str(value) for value in row.values() if value is not None):
        return _l("The line holds a NUL character, which cannot be saved."), None
    invoice = str(row.get("invoice_number") or "").strip().upper()
    sku = str(row.get("sku") or "").strip().upper()
    try:
        line_no = int(str(row.get("line") or "").strip())
        quantity = int(str(row.get("quantity") or "").strip())
    except ValueError:
        return _l("The line number and the quantity must be whole numbers."), None
    day = date_cell(row.get("date"))
    if not invoice:
        return _l("No invoice number."), None
    if len(invoice) > MAX_INVOICE:
        return (
            lazy_ngettext(
                "The invoice number can be at most %(num)s character.",
                "The invoice number can be at most %(num)s characters.",
                MAX_INVOICE,
            ),
            None,
        )
    if line_no < 1 or quantity < 1:
        return _l("The line number and the quantity must be at least 1."), None
    if line_no > MAX_LINE_NUMBER:
        return _l("The line number can be at most %(max)s.", max=MAX_LINE_NUMBER), None
    if quantity > MAX_LINE_QUANTITY:
        return (
            lazy_ngettext(
                "A line can hold at most %(num)s unit.",
                "A line can hold at most %(num)s units.",
                MAX_LINE_QUANTITY,
            ),
            None,
        )
    if day is None:
        return _l("The date is missing, unreadable (use YYYY-MM-DD) or in the future."), None
    if sku not in directory.skus:
        return _l("Unknown product “%(sku)s”.", sku=sku), None
    person = directory.person(str(row.get("seller") or ""))
    if person is None:
        return _l(
            "No active partner staff with the phone or e-mail “%(seller)s”.",
            seller=row.get("seller"),
        ), None
    if day > day_in(zone_named(person.timezone), now):
        return _l("The date is missing, unreadable (use YYYY-MM-DD) or in the future."), None
    return None, (person, invoice, line_no, day, sku, quantity)


def _import_line(session, key, person, invoice, day, sku, quantity, return_window) -> bool:
    """One line the way a reviewer approves a claim; False if another import took it first."""
    try:
        with session.begin_nested():
            claim = Claim(
                person_id=person.id,
                partner_id=person.partner_id,
                kind=ClaimKind.SALE,
                occurred_on=day,
                invoice_number=invoice,
                source_key=key,
                created_at=utcnow(),
                lines=[ClaimLine(line_no=1, sku=sku, quantity=quantity)],
            )
            session.add(claim)
            session.flush()
            approve_claim(session, claim, actor_id=None, return_window=return_window)
    except IntegrityError:
        return False
    return True


def import_sales_file(
    session: Session,
    data: bytes,
    *,
    max_rows: int,
    now: datetime,
    return_window: timedelta = timedelta(days=30),
) -> SalesReport:
    """`import_sales` of an uploaded file: a file that cannot be read is a problem of `file`."""
    try:
        rows = list(read_sales(data, max_rows))
        return import_sales(session, rows, now=now, return_window=return_window)
    except UnreadableSalesFile as unreadable:
        raise InvalidInput({"file": unreadable.args[0]}) from None
