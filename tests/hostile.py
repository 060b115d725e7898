"""Hostile input for the fuzz tests: strategies for what people and machines may send, and a
cheap snapshot of every table to prove that a refused request wrote nothing."""

import os
from contextlib import contextmanager

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.db import Base
from core.tables import MAX_CELL_CHARS


def fuzz(max_examples: int) -> settings:
    """Settings for a fuzz test: reproducible as every property test is (tests/conftest.py),
    as many examples as given unless FUZZ_EXAMPLES asks for more while hunting locally."""
    return settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", max_examples)),
        deadline=None,
        # The fixtures (a database transaction, a signed-in client) are shared on purpose.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


_SCRIPTS = "Aa Ωω Жж ĀāŅņ ŁłŹź אבג ابپ ١٢٣ ۱۲۳ 漢字 😀 \u200f\u202e\u200b\ufeff"
#: Numbers and dates at the edges of what Python, the databases and the calendar hold.
EDGE_NUMBERS_AND_DATES = [
    "1e309",
    "-1e309",
    "-0",
    "NaN",
    "Infinity",
    "-1",
    "0",
    "99999999999999999999999",
    "9223372036854775808",
    "9223372036854775807",
    "2147483648",
    "²",
    "１２",
    "2026-02-30",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
]
EDGE_VALUES = st.sampled_from(
    EDGE_NUMBERS_AND_DATES
    + [
        "",
        " ",
        "\x00",
        "a\x00b",
        "-999999999",
        "0.000000001",
        "1,5",
        "1_000",
        "0000000000000000000000000000000000000021610",
        "١٢",
        "۴۲",
        "2026-13-01",
        "0000-01-01",
        "1900-01-01",
        "31.12.2026",
        "=cmd|' /C calc'!A0",
        "<script>alert(1)</script>",
        "{{ 7*7 }}",
        "%(points)s",
        "'; DROP TABLE people; --",
        "../../etc/passwd",
        "+371 2000 0003",
        "+99999999999999999",
        "x" * 70_000,
        "\u202e" * 3000,
    ]
)
#: Half the time an edge value above, else random text of every script or of the tricky ones.
HOSTILE_TEXT = st.one_of(
    EDGE_VALUES,
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
    EDGE_VALUES,
    st.text(st.sampled_from(_SCRIPTS + "\x00\r\n\t<>&\"'%;=|"), max_size=40),
)


def table_counts(db) -> dict[str, int]:
    tables = Base.metadata.sorted_tables
    row = db.execute(
        select(*(select(func.count()).select_from(t).scalar_subquery() for t in tables))
    ).one()
    return dict(zip((t.name for t in tables), row, strict=True))


# ---------------------------------------------------------------- uploaded files


@st.composite
def spreadsheet_files(
    draw, columns: list[str], good_rows: list[dict], *, templates=None, xlsx: bool = False
):
    """(file bytes, readable): a CSV (or XLSX) with `good_rows` and hostile rows among them,
    some of them `templates` (default: the good rows) with a hostile cell or two.

    `readable` says the file is one the import must read: UTF-8 (BOM or not), comma or
    semicolon, every column named once in any case and order, or a whole workbook. The
    others (other encodings, broken workbooks, random bytes, duplicate or missing columns)
    may be refused as a whole, but never half-imported; so may a file with a cell longer
    than any column.
    """
    kind = draw(st.sampled_from(["csv"] * 4 + ["xlsx"] * xlsx + ["bytes", "truncated"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300)), False
    header = draw(st.permutations(columns))
    header = [draw(st.sampled_from([c, c.upper(), f" {c.title()} "])) for c in header]
    readable = True
    if draw(st.integers(0, 5)) == 0:
        header.append(draw(st.sampled_from(header)))  # a column named twice
        readable = False
    if draw(st.integers(0, 5)) == 0:
        header.append(draw(st.sampled_from(["notes", "=1+1", "", "\u202enotes"])))
    hostile = st.fixed_dictionaries({c: HOSTILE_TEXT for c in columns})
    rows = [dict(row) for row in good_rows]
    for row in draw(st.lists(hostile, max_size=2)):
        rows.insert(draw(st.integers(0, len(rows))), row)
    # Good rows with a hostile cell or two: the lines that get furthest into an import.
    templates = templates or good_rows
    for _ in range(draw(st.integers(0, 4)) if templates else 0):
        mutant = dict(draw(st.sampled_from(templates)))
        for column in draw(st.lists(st.sampled_from(columns), min_size=1, max_size=2)):
            mutant[column] = draw(HOSTILE_TEXT)
        rows.insert(draw(st.integers(0, len(rows))), mutant)
    table = [header] + [[row.get(c.strip().lower(), "") for c in header] for row in rows]
    if any(len(cell) > MAX_CELL_CHARS for line in table for cell in line):
        readable = False  # refused whole, with the reason (core.tables)
    if kind == "xlsx" or (kind == "truncated" and xlsx):
        data = _workbook(table)
    else:
        data = _csv(table, draw(st.sampled_from([",", ";"])))
        encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1257"]))
        if encoding in ("utf-16", "cp1257"):
            readable = False
        data = data.encode(encoding, errors="replace")
    if kind == "truncated":
        return data[: draw(st.integers(0, max(len(data) - 1, 0)))], False
    return data, readable


def _csv(table, delimiter):
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(table)
    return buffer.getvalue()


def _workbook(table) -> bytes:
    import io

    from openpyxl import Workbook
    from openpyxl.utils.exceptions import IllegalCharacterError

    book = Workbook()
    sheet = book.active
    for row in table:
        try:
            sheet.append(row)
        except IllegalCharacterError:  # control characters no workbook can hold
            sheet.append(["".join(ch for ch in str(cell) if ch >= " ") for cell in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@contextmanager
def hostile_import(db, readable: bool, refusal: type[Exception]):
    """One hostile file through an import, in a savepoint rolled back afterwards.

    Yields `run(do_import)`, which calls the import and returns (its report, the table counts
    before it), or (None, counts) when the import refused the file whole: only a file that
    is not `readable` may be refused, with a reason, and having written nothing.
    """
    savepoint = db.begin_nested()

    def run(do_import):
        before = table_counts(db)
        try:
            return do_import(), before
        except refusal as refused:
            assert str(refused.args[0]) and not readable
            assert table_counts(db) == before
            return None, before

    try:
        yield run
    finally:
        savepoint.rollback()
