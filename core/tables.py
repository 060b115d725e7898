"""Uploaded tables (CSV, XLSX) read within bounds, so that no file can exhaust the server.

A workbook is a zip archive: a few hundred KB can inflate to gigabytes, and openpyxl loads
its shared strings whole before a single row is read. So the archive is checked first, from
its directory (the sizes it declares, which zipfile then holds each entry to) and by one
streamed pass over its XML parts in 1 MiB pieces: no part, no run of text and no sheet may
be larger than a real sell-out file needs. Only then does openpyxl read it, row by row
(read-only mode). Empty rows are skipped, but every row counts toward the cap: 300,000
blank rows are refused as quickly as 300,000 full ones.
"""

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext

from core.csvfiles import dict_reader, normalized_header, repeated_columns

#: Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(value):
    """A text cell that a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


#: Longest text a cell may hold; the longest column any import fills holds 255.
MAX_CELL_CHARS = 1000
#: Parts a workbook may have (a one-sheet workbook has about ten).
MAX_PARTS = 1000
#: Uncompressed size of any one part, and of all of them: 200,000 rows of six columns take
#: about 66 MB of sheet XML as openpyxl writes it.
MAX_PART_BYTES = 256 * 1024 * 1024
MAX_TOTAL_BYTES = 512 * 1024 * 1024
#: Sheet XML packs about 13 to 1; a zip bomb about 1000 to 1. Parts under 1 MiB may be odd.
MAX_RATIO = 100
RATIO_FROM_BYTES = 1024 * 1024
#: A run of XML without a tag, in bytes: a cell of MAX_CELL_CHARS characters written as
#: entities (&quot; is six bytes) and no more; the shared strings never hold a longer one.
MAX_TEXT_RUN = 6 * MAX_CELL_CHARS
_CHUNK = 1024 * 1024
_LONG_RUN = re.compile(rb"[^<]{%d}" % (MAX_TEXT_RUN + 1))
_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")


class UnreadableFile(Exception):
    """The file as a whole cannot be read within bounds; nothing was imported."""


def too_many_rows(max_rows: int):
    return lazy_ngettext(
        "The file has more than %(num)s row; split it.",
        "The file has more than %(num)s rows; split it.",
        max_rows,
    )


def _cell_too_long():
    return lazy_ngettext(
        "A cell holds more than %(num)s character. Nothing was imported.",
        "A cell holds more than %(num)s characters. Nothing was imported.",
        MAX_CELL_CHARS,
    )


def check_workbook(data: bytes, max_rows: int, refuse=UnreadableFile) -> None:
    """Refuse (raise `refuse(message)`) a workbook beyond the bounds above, reading at most
    1 MiB of it at a time."""
    too_large = _l("The workbook unpacks to more than an import needs; it was not read.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
            if len(parts) > MAX_PARTS:
                raise refuse(too_large)
            if sum(part.file_size for part in parts) > MAX_TOTAL_BYTES:
                raise refuse(too_large)
            for part in parts:
                ratio = part.file_size / max(part.compress_size, 1)
                if part.file_size > MAX_PART_BYTES or (
                    part.file_size > RATIO_FROM_BYTES and ratio > MAX_RATIO
                ):
                    raise refuse(too_large)
            for part in parts:
                if part.filename.endswith((".xml", ".rels")):
                    with archive.open(part) as stream:
                        rows = _scan(stream, refuse)
                    if part.filename.startswith("xl/worksheets/") and rows > max_rows + 1:
                        raise refuse(too_many_rows(max_rows))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError):
        raise refuse(_l("The workbook cannot be read.")) from None


def _scan(stream, refuse) -> int:
    """The rows an XML part holds; refuses a run of text longer than any cell."""
    rows, tail = 0, b""
    while chunk := stream.read(_CHUNK):
        data = tail + chunk
        if _LONG_RUN.search(data):
            raise refuse(_cell_too_long())
        # What follows the last "<" may be a tag cut in two: it goes with the next piece.
        cut = data.rfind(b"<")
        cut = len(data) if cut < 0 else cut
        rows += len(_ROW.findall(data, 0, cut))
        tail = data[cut:]
    return rows + len(_ROW.findall(tail))


def workbook_rows(data: bytes, max_rows: int, refuse=UnreadableFile) -> Iterator[tuple[int, tuple]]:
    """(row number, values) of the workbook's active sheet, its header first, after
    `check_workbook`; fully empty rows are left out but counted toward `max_rows`."""
    from openpyxl import load_workbook

    check_workbook(data, max_rows, refuse)
    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        rows = sheet.iter_rows(values_only=True)
    except Exception:  # noqa: BLE001 - any unreadable workbook is reported the same way
        raise refuse(_l("The workbook cannot be read.")) from None
    for number, values in enumerate(rows, 1):
        if number > max_rows + 1:  # rows openpyxl makes up for gaps in the numbering
            raise refuse(too_many_rows(max_rows))
        if all(value is None or (isinstance(value, str) and not value.strip()) for value in values):
            continue
        if any(isinstance(value, str) and len(value) > MAX_CELL_CHARS for value in values):
            raise refuse(_cell_too_long())
        yield number, values


def check_line_count(text: str, max_rows: int, refuse=UnreadableFile) -> None:
    """Refuse a CSV text of more lines than a header and `max_rows` rows, blank lines too,
    before any is parsed (counted in C: megabytes of empty lines take milliseconds)."""
    if text.rstrip("\r\n").count("\n") > max_rows:
        raise refuse(too_many_rows(max_rows))


def csv_rows(reader, refuse=UnreadableFile) -> Iterator[dict]:
    """The rows of a csv.DictReader with some text in them; a cell beyond MAX_CELL_CHARS
    refuses the file. Call `check_line_count` on the text first."""
    for row in reader:
        cells = [
            v for value in row.values() for v in (value if isinstance(value, list) else [value])
        ]
        if not any(cell and cell.strip() for cell in cells):
            continue
        if any(cell and len(cell) > MAX_CELL_CHARS for cell in cells):
            raise refuse(_cell_too_long())
        yield row


def table_rows(
    data: bytes, required, max_rows: int, refuse=UnreadableFile
) -> Iterator[tuple[int, dict]]:
    """(line number, row by lower-cased column) of an uploaded table: CSV (UTF-8, comma or
    semicolon) or XLSX, told apart by content. A header lacking a `required` column or naming
    one twice refuses the file, as does anything past the bounds above."""
    if data[:2] == b"PK":
        rows = workbook_rows(data, max_rows, refuse)
        _, first = next(rows, (1, ()))
        header = [str(name or "").strip().lower() for name in first]
        _check_header(header, required, refuse)
        for number, values in rows:
            yield number, dict(zip(header, values, strict=False))
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse(_l("The file is neither UTF-8 CSV nor XLSX.")) from None
    check_line_count(text, max_rows, refuse)
    reader = dict_reader(text)
    try:
        _check_header(normalized_header(reader), required, refuse)
        for row in csv_rows(reader, refuse):
            yield reader.line_num, row
    except csv.Error:
        raise refuse(
            _l("The file is not valid CSV (line %(line)s).", line=reader.line_num)
        ) from None


def _check_header(header: list[str], required, refuse) -> None:
    missing = [column for column in required if column not in header]
    if missing:
        raise refuse(
            _l("The header row lacks the columns %(missing)s.", missing=", ".join(missing))
        )
    if repeated := repeated_columns(header):
        raise refuse(repeated)


def date_cell(value) -> date | None:
    """A date from a table cell: a spreadsheet's date or date-time, or text as YYYY-MM-DD."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None
