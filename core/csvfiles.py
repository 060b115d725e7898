"""Reading uploaded CSV the way spreadsheets write it: comma or semicolon, any header case."""

import csv
import io


def dict_reader(text: str, *, strict: bool = False) -> csv.DictReader:
    """A DictReader over `text`, separated by semicolons when the first line has more of
    them (Excel's export in most European locales), else by commas."""
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)


def normalized_header(reader: csv.DictReader) -> list[str]:
    """Read the header row (which may raise csv.Error), stripped and lower-cased for matching."""
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
    return reader.fieldnames
