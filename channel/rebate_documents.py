"""Rebate statements as files: a statement as CSV and PDF, a period's credit memos as CSV.

CSV columns are stable identifiers, the same in every language, for finance to build on (as
in `channel.exports`). The PDF is for people: in the reader's language and number format,
set in DejaVu Sans (Latin, Cyrillic, Hebrew and Arabic script), with Hebrew and Persian
shaped and ordered right to left by HarfBuzz.
"""

from pathlib import Path

from flask_babel import gettext as _

from channel.exports import Table
from channel.rebate_models import RebateStatement
from channel.rule_params import RuleKind
from core.i18n import format_date, format_money, format_number, isolated, text_direction

#: Debian's fonts-dejavu-core (installed by `make browser`).
DEFAULT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


class FontMissing(RuntimeError):
    """The PDF font is not installed."""


def rule_label(rule: str) -> str:
    return {
        RuleKind.VOLUME_REBATE: _("Volume rebate"),
        RuleKind.CUMULATIVE_DISCOUNT: _("Cumulative discount"),
        RuleKind.FIRST_ORDER_DISCOUNT: _("First-order discount"),
    }.get(rule, rule)


def statement_table(statement: RebateStatement) -> Table:
    header = [
        "reference", "invoiced_on", "document", "invoice_number", "line", "sku", "quantity",
        "amount", "currency", "rate", "converted", "program_currency", "rule", "tier",
        "percent", "rebate", "true_up_of",
    ]  # fmt: skip
    rows = (
        [
            statement.reference,
            line.purchase.invoiced_on.isoformat(),
            line.purchase.document,
            line.purchase.number,
            line.purchase.line,
            line.purchase.sku,
            line.purchase.quantity,
            line.amount,
            line.currency,
            line.rate,
            line.converted,
            statement.currency,
            line.rule,
            line.tier_code or "",
            line.percent,
            line.rebate,
            line.true_up_of or "",
        ]
        for line in statement.lines
    )
    return Table(f"rebate-statement-{statement.reference}", header, rows)


def credit_memo_table(period: str, statements: list[RebateStatement]) -> Table:
    """One row per statement: what the manufacturer's ERP books as a credit memo."""
    header = [
        "reference", "partner_legal_id", "partner_country", "partner_name", "period",
        "amount", "currency",
    ]  # fmt: skip
    rows = (
        [
            s.reference,
            s.partner.legal_id,
            s.partner.country,
            s.partner.name,
            s.period,
            s.total,
            s.currency,
        ]
        for s in statements
    )
    return Table(f"credit-memos-{period}", header, rows)


def statement_pdf(statement: RebateStatement, font: str = DEFAULT_FONT) -> bytes:
    """The statement as a PDF in the reader's language (call inside a request)."""
    from fpdf import FPDF
    from fpdf.enums import TableBordersLayout
    from fpdf.fonts import FontFace

    if not Path(font).is_file():
        raise FontMissing(font)
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_title(statement.reference)
    pdf.add_font("DejaVu", fname=font)
    pdf.set_font("DejaVu", size=9)
    pdf.set_text_shaping(True)
    pdf.add_page()
    rtl = text_direction() == "rtl"
    align = "R" if rtl else "L"

    def in_reading_order(cells):
        """Right-to-left readers start at the right: the first column goes last."""
        return list(reversed(cells)) if rtl else list(cells)

    heading = [
        _("Rebate statement %(reference)s", reference=isolated(statement.reference)),
        f"{statement.partner.name} · {statement.program.name}",
        _(
            "Period %(period)s: %(start)s to %(end)s",
            period=isolated(statement.period),
            start=format_date(statement.starts_on),
            end=format_date(statement.ends_on),
        ),
    ]
    pdf.set_font_size(13)
    pdf.multi_cell(0, 7, heading[0], align=align, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(10)
    for text in heading[1:]:
        pdf.multi_cell(0, 6, text, align=align, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font_size(8)
    header = [
        _("Date"), _("Invoice"), _("Product"), _("Amount"), _("Rate"), _("Converted"),
        _("Rule"), _("Percent"), _("Rebate"),
    ]  # fmt: skip
    with pdf.table(
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        col_widths=in_reading_order((22, 34, 26, 34, 20, 34, 40, 18, 30)),
        text_align=align,
        headings_style=FontFace(emphasis="", fill_color=(235, 235, 235)),
    ) as table:
        row = table.row()
        for title in in_reading_order(header):
            row.cell(title)
        for line in statement.lines:
            row = table.row()
            invoice = f"{line.purchase.number}/{line.purchase.line}"
            if line.true_up_of:
                invoice += " · " + _("true-up of %(period)s", period=isolated(line.true_up_of))
            for value in in_reading_order(
                (
                    format_date(line.purchase.invoiced_on, "short"),
                    invoice,
                    line.purchase.sku,
                    format_money(line.amount, line.currency),
                    format_number(line.rate),
                    format_money(line.converted, statement.currency),
                    rule_label(line.rule) + (f" ({line.tier_code})" if line.tier_code else ""),
                    f"{format_number(line.percent)} %",
                    format_money(line.rebate, statement.currency),
                )
            ):
                row.cell(value)
    pdf.ln(4)
    pdf.set_font_size(11)
    total = _("Total: %(amount)s", amount=format_money(statement.total, statement.currency))
    pdf.multi_cell(0, 7, total, align=align, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
