"""Workbooks that exhaust a naive reader, written part by part as a stream so that the tests
building them stay light: the smallest XLSX openpyxl reads, with a sheet and shared strings."""

import io
import zipfile
from collections.abc import Callable, Iterable

SALES_HEADER = ["invoice_number", "line", "date", "sku", "quantity", "seller"]
_MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml."
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE = f"""<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="{_TYPE}sharedStrings+xml"/>
</Types>"""
_ROOT_RELS = f"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
_WORKBOOK = f"""<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="{_MAIN.decode()}" xmlns:r="{_REL}">
<sheets><sheet name="Sales" sheetId="1" r:id="rId1"/></sheets></workbook>"""
_WORKBOOK_RELS = f"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>"""

Writer = Callable[[io.BufferedIOBase], None]


def xlsx(sheet: Writer, shared_strings: Writer, level: int = 9) -> bytes:
    """A workbook whose sheet and shared strings are written by the given functions."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as book:
        book.writestr("[Content_Types].xml", _PACKAGE)
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        for name, write in (
            ("xl/worksheets/sheet1.xml", sheet),
            ("xl/sharedStrings.xml", shared_strings),
        ):
            with book.open(name, "w") as stream:
                write(stream)
    return out.getvalue()


def _strings(texts: Iterable[bytes]) -> Writer:
    def write(stream):
        stream.write(b'<sst xmlns="%s">' % _MAIN)
        for text in texts:
            stream.write(b'<si><t xml:space="preserve">')
            stream.write(text)
            stream.write(b"</t></si>")
        stream.write(b"</sst>")

    return write


def _sheet(rows: int, row: bytes, dimension: bool, body: bytes = b"") -> Writer:
    """The header row (shared strings 0 to 5), `body`, then `rows` times `row`."""

    def write(stream):
        stream.write(b'<worksheet xmlns="%s">' % _MAIN)
        if dimension:
            stream.write(b'<dimension ref="A1:F%d"/>' % (rows + 1))
        stream.write(b'<sheetData><row r="1">')
        for index, column in enumerate(b"ABCDEF"):
            stream.write(b'<c r="%c1" t="s"><v>%d</v></c>' % (column, index))
        stream.write(b"</row>")
        stream.write(body)
        batch = row * 1000
        for _ in range(rows // 1000):
            stream.write(batch)
        stream.write(row * (rows % 1000))
        stream.write(b"</sheetData></worksheet>")

    return write


def _header() -> list[bytes]:
    return [name.encode() for name in SALES_HEADER]


def shared_strings_bomb(megabytes: int = 300) -> bytes:
    """A sell-out workbook whose shared strings hold one string of `megabytes` MB: about
    1.4 MB on the wire for 300 (DEFLATE's fastest level packs a repeated byte 230 to 1 in
    a second; its best, 1000 to 1, takes three)."""

    def write(stream):
        stream.write(b'<sst xmlns="%s">' % _MAIN)
        for name in _header():
            stream.write(b"<si><t>%s</t></si>" % name)
        stream.write(b"<si><t>")
        chunk = b"A" * (1024 * 1024)
        for _ in range(megabytes):
            stream.write(chunk)
        stream.write(b"</t></si></sst>")

    return xlsx(_sheet(0, b"", dimension=False), write, level=1)


def near_empty_rows(rows: int = 300_000, *, dimension: bool = False) -> bytes:
    """A sell-out workbook of a header and `rows` rows holding one blank cell each (a space,
    shared string 6): tens of KB on the wire. Without `dimension` the sheet does not say
    how many rows it has, so only reading them tells."""
    return xlsx(
        _sheet(rows, b'<row><c t="s"><v>6</v></c></row>', dimension),
        _strings([*_header(), b" "]),
    )


def sales_rows(rows: list[list[str]], first_row: int = 2) -> bytes:
    """A sell-out workbook of the header and `rows` from row number `first_row` on (a gap
    after the header when above 2), every cell a shared string."""
    texts = _header()
    index = {text: n for n, text in enumerate(texts)}
    body = []
    for number, row in enumerate(rows, first_row):
        cells = []
        for column, value in zip(b"ABCDEF", row, strict=False):
            text = value.encode()
            if text not in index:
                index[text] = len(texts)
                texts.append(text)
            cells.append(b'<c r="%c%d" t="s"><v>%d</v></c>' % (column, number, index[text]))
        body.append(b'<row r="%d">%s</row>' % (number, b"".join(cells)))
    return xlsx(_sheet(0, b"", False, b"".join(body)), _strings(texts))
