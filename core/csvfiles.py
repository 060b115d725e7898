"""Reading uploaded CSV the way spreadsheets write it: comma or semicolon, any header case."""

import csv
import io

from flask_babel import lazy_gettext as _l


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


def repeated_columns(header: list[str]):
    """A message naming the columns the header row holds more than once (case and spaces
    folded), or None. Which of two same-named columns is meant would be a guess, so an
    import refuses such a file whole."""
    seen, twice = set(), []
    for name in header:
        if name and name in seen and name not in twice:
            twice.append(name)
        seen.add(name)
    if not twice:
        return None
    return _l(
        "The header row names the columns %(columns)s more than once. Keep one column of "
        "each name and try again.",
        columns=", ".join(twice),
    )
