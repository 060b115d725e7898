"""Uploaded tables read within bounds: a zip bomb, a sea of empty rows or a giant cell is
refused quickly, in little memory, with a reason; a real 100,000-row file still reads."""

import time
import tracemalloc
from datetime import date

import pytest

from channel.sales_import import MAX_ROWS, UnreadableSalesFile, read_sales
from core.tables import check_workbook
from tests.spreadsheets import near_empty_rows, sales_rows, shared_strings_bomb


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return shared_strings_bomb(300)


def _refusal(data: bytes, max_rows: int = MAX_ROWS):
    """(the refusal's message, seconds taken, peak bytes allocated) of reading `data`."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(UnreadableSalesFile) as refused:
            list(read_sales(data, max_rows))
        return (
            str(refused.value.args[0]),
            time.perf_counter() - started,
            tracemalloc.get_traced_memory()[1],
        )
    finally:
        tracemalloc.stop()


def test_a_shared_strings_bomb_is_refused_at_once_without_unpacking_it(app, bomb):
    assert len(bomb) < 2 * 1024 * 1024  # 300 MB of text on the wire
    with app.test_request_context():
        message, seconds, peak = _refusal(bomb)
    assert message == "The workbook unpacks to more than an import needs; it was not read."
    assert seconds < 1
    assert peak < 20 * 1024 * 1024


def test_300000_near_empty_rows_are_refused_at_once(app):
    data = near_empty_rows(300_000)
    assert len(data) < 100 * 1024
    with app.test_request_context():
        message, seconds, peak = _refusal(data)
    assert "not read" in message
    assert seconds < 1
    assert peak < 20 * 1024 * 1024


@pytest.mark.parametrize("dimension", [True, False])
def test_blank_rows_count_toward_the_cap_before_openpyxl_reads_any(app, dimension):
    with app.test_request_context():
        message, seconds, _ = _refusal(near_empty_rows(5_000, dimension=dimension), 1_000)
    assert message == "The file has more than 1000 rows; split it."
    assert seconds < 1


def test_rows_made_up_for_a_gap_in_the_numbering_count_toward_the_cap(app):
    data = sales_rows([["I-1", "1", "2026-01-05", "BX-24", "1", "+37120000001"]], 900_000)
    with app.test_request_context():
        message, seconds, _ = _refusal(data, 1_000)
    assert message == "The file has more than 1000 rows; split it."
    assert seconds < 1


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_cell_longer_than_any_column_refuses_the_file_with_the_reason(app, kind):
    row = ["I-1", "1", "2026-01-05", "BX-24", "1", "+37120000001" + "x" * 7000]
    data = (
        sales_rows([row])
        if kind == "xlsx"
        else ("invoice_number,line,date,sku,quantity,seller\n" + ",".join(row) + "\n").encode()
    )
    with app.test_request_context():
        message, _, _ = _refusal(data)
    assert message == "A cell holds more than 1000 characters. Nothing was imported."


def test_a_csv_of_blank_lines_is_refused_before_parsing(app):
    data = b"invoice_number,line,date,sku,quantity,seller\n" + b",,,,,\n" * 1_000_000
    with app.test_request_context():
        message, seconds, _ = _refusal(data)
    assert message == "The file has more than 200000 rows; split it."
    assert seconds < 1


@pytest.mark.slow  # reads a 100,000-line file
def test_a_100000_line_sell_out_file_is_still_read(app):
    day = date(2026, 1, 5).isoformat()
    lines = [
        f"B-{n // 5},{n % 5 + 1},{day},BENCH-1,{n % 7 + 1},+3712{n % 300:07d}"
        for n in range(100_000)
    ]
    csv_data = ("invoice_number,line,date,sku,quantity,seller\n" + "\n".join(lines)).encode()
    assert len(list(read_sales(csv_data))) == 100_000
    workbook = sales_rows([line.split(",") for line in lines])
    check_workbook(workbook, MAX_ROWS)  # refuses nothing
