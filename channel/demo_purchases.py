"""The demo's sell-in: fifteen months of reference rates, a year of purchases from the
manufacturer (and from the distributor to its dealers) with the serials they shipped, and a
program paying the companies on them ("Sell-in rebates"), with its last full quarter closed.

Everything goes in through the real imports (`import_rates`, `import_purchases`) and the real
close (`close_period`), from files built here; nothing is written by hand. Loading it again
changes nothing: the rates are a function of their day (so a later load only adds the new
days), the invoices have fixed numbers (already imported), and the program is found by name.
"""

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.exchange_rates import import_rates
from channel.purchase_import import import_purchases, read_purchases
from channel.rebate_models import period_of
from channel.rebates import close_period

SELL_IN_PROGRAM = "Sell-in rebates"
#: Units of each currency for one euro, around which the demo's daily rates move.
RATE_BASES = {"PLN": Decimal("4.2500"), "ILS": Decimal("3.9500"), "USD": Decimal("1.0800")}
RATE_DAYS = 470

INVOICE, CREDIT, FACTORY = "invoice", "credit_note", None
BALTIC, INSTAL, HOM = ("LV40003000001", "LV"), ("PL5260000001", "PL"), ("515000001", "IL")
#: Unit prices by partner currency.
PRICES = {
    "EUR": {"NH-B24": Decimal(700), "NH-B35": Decimal(900), "NH-HP8": Decimal(4200)},
    "PLN": {"NH-B24": Decimal(3000), "NH-B35": Decimal(3850), "NH-HP8": Decimal(18500)},
    "ILS": {"NH-B24": Decimal(2800), "NH-B35": Decimal(3600), "NH-HP8": Decimal(16500)},
}
PURCHASE_COLUMNS = (
    "document", "seller", "seller_country", "partner", "country", "invoice_number", "line",
    "date", "sku", "quantity", "amount", "currency", "serials",
)  # fmt: skip
#: The serials the demo's technicians install (`channel.demo_program`).
INSTALLED = ("NH8-240001", "NH8-240002")
INSTALLED_BOILER = "NB35-240017"
HISTORY_DAYS = range(20, 100, 9)


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def history_serial(day: int) -> str:
    """The serial of the heat pump installed `day` days ago in the demo's history."""
    return f"NH8-23{day:04d}"


def demo_rates(today: date) -> bytes:
    """A daily reference-rate CSV (Date, then a column per currency) of the working days of
    the last ~15 months; each day's rate depends on the day alone."""
    rows = [["Date", *RATE_BASES]]
    for back in range(RATE_DAYS, -1, -1):
        day = today - timedelta(days=back)
        if day.weekday() >= 5:
            continue
        wobble = Decimal((day.toordinal() * 37) % 400 - 200) / 10000
        rows.append([day.isoformat(), *(str(base + wobble) for base in RATE_BASES.values())])
    return _csv(rows)


def _line(document, seller, partner, number, line, day, sku, quantity, currency, serials):
    sign = -1 if document == CREDIT else 1
    amount = (sign * PRICES[currency][sku] * quantity).quantize(Decimal("0.01"))
    return [
        document, seller[0] if seller else "", seller[1] if seller else "", partner[0],
        partner[1], number, str(line), day.isoformat(), sku, str(sign * quantity),
        str(amount), currency, " ".join(serials),
    ]  # fmt: skip


def demo_purchases(today: date) -> bytes:
    """A year of invoice lines in EUR, PLN and ILS, from the manufacturer (no seller) and from
    the distributor to a dealer (serials sold on), with a credit note returning one unit."""
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    lines = []
    for month in range(12, -1, -1):
        day = today - timedelta(days=30 * month + 3)
        if not month:  # this quarter has purchases too, whatever day it is
            day = max(today - timedelta(days=2), quarter_start)
        pumps, number = (f"NH8-25{month:02d}01", f"NH8-25{month:02d}02"), f"NH-DEMO-{month:02d}"
        lines += [
            (INVOICE, FACTORY, BALTIC, f"{number}-B", 1, day, "NH-B24", 10, "EUR", ()),
            (INVOICE, FACTORY, BALTIC, f"{number}-B", 2, day, "NH-HP8", 2, "EUR", pumps),
            (INVOICE, FACTORY, INSTAL, f"{number}-I", 1, day, "NH-B24", 2, "PLN", ()),
            (INVOICE, FACTORY, HOM, f"{number}-H", 1, day, "NH-B24", 3, "ILS", ()),
            (INVOICE, FACTORY, HOM, f"{number}-H", 2, day, "NH-HP8", 1, "ILS", [f"NH8-IL{month:02d}"]),
        ]  # fmt: skip
        if month % 2 == 0:  # the distributor sells one of its heat pumps on to the dealer
            sold = f"BH-DEMO-{month:02d}"
            lines.append((INVOICE, BALTIC, INSTAL, sold, 1, day, "NH-HP8", 1, "PLN", pumps[1:]))
        if month == 6:  # and the dealer sends that unit back
            credit = (CREDIT, BALTIC, INSTAL, "BH-CN-06", 1, day + timedelta(days=20))
            lines.append((*credit, "NH-HP8", 1, "PLN", pumps[1:]))
    # The units the demo's installers put in: shipped to the dealer directly, or through the
    # distributor.
    history, shipped, sold_on = (today - timedelta(days=days) for days in (110, 40, 30))
    lines += [
        (INVOICE, FACTORY, INSTAL, "NH-DEMO-HIST", 1, history, "NH-HP8", len(HISTORY_DAYS), "PLN",
         [history_serial(days) for days in HISTORY_DAYS]),
        (INVOICE, FACTORY, BALTIC, "NH-DEMO-S", 1, shipped, "NH-HP8", 2, "EUR", INSTALLED),
        (INVOICE, FACTORY, BALTIC, "NH-DEMO-S", 2, shipped, "NH-B35", 1, "EUR", [INSTALLED_BOILER]),
        (INVOICE, BALTIC, INSTAL, "BH-DEMO-S", 1, sold_on, "NH-HP8", 2, "PLN", INSTALLED),
        (INVOICE, BALTIC, INSTAL, "BH-DEMO-S", 2, sold_on, "NH-B35", 1, "PLN", [INSTALLED_BOILER]),
    ]  # fmt: skip
    return _csv([list(PURCHASE_COLUMNS), *(_line(*spec) for spec in lines)])


def seed_demo_purchases(session: Session, today: date) -> int:
    """Import the rates and the purchases; returns how many purchase lines are new."""
    import_rates(session, demo_rates(today))
    report = import_purchases(session, read_purchases(demo_purchases(today)), today=today)
    if report.rejected:
        raise RuntimeError(f"demo purchases refused: {report.rejected[:3]}")
    return report.imported


def seed_sell_in_program(session: Session, today: date) -> int:
    """A program paying the companies on what they buy: a volume rebate by tier and a
    cumulative discount, approved by every demo partner. Returns 1 if it was created now."""
    from channel.approvals import DecisionDetails, decide
    from channel.models import Program
    from channel.partner_models import PartnerOrganization
    from channel.programs import ProgramDetails, launch_program, offer_program, save_program
    from channel.schemes import RuleInput, SchemeDetails, save_scheme
    from roles.models import Person

    if session.scalar(select(Program).where(Program.name == SELL_IN_PROGRAM)) is not None:
        return 0
    channel_manager = session.scalar(
        select(Person).where(Person.email == "channel@demo.partnerlift.example")
    )
    partners = list(session.scalars(select(PartnerOrganization).order_by(PartnerOrganization.id)))
    first_month = date(today.year - 1, today.month, 1) - timedelta(days=31)
    program = save_program(
        session,
        ProgramDetails(
            name=SELL_IN_PROGRAM,
            description="A rebate on every invoice from us, more as your quarter grows.",
            starts_at=datetime.combine(first_month.replace(day=1), time.min, tzinfo=UTC),
            ends_at=datetime.combine(today + timedelta(days=180), time.min, tzinfo=UTC),
            currency="EUR",
            point_value=Decimal("0.01"),
            texts={
                "lv": (
                    "Iepirkumu atlaides",
                    "Atlaide par katru mūsu rēķinu, lielāka, augot ceturksnim.",
                ),
                "pl": (
                    "Rabaty od zakupów",
                    "Rabat od każdej naszej faktury, większy wraz z kwartałem.",
                ),
                "ru": (
                    "Скидки на закупки",
                    "Скидка с каждого нашего счёта, больше по мере роста квартала.",
                ),
                "he": ("הנחות רכש", "הנחה על כל חשבונית מאיתנו, גדלה ככל שהרבעון גדל."),
                "fa": ("تخفیف‌های خرید", "تخفیفی روی هر فاکتور ما، بیشتر با رشد فصل."),
            },  # fmt: skip
            partner_ids=[partner.id for partner in partners],
        ),
        actor_id=channel_manager.id,
    )
    save_scheme(
        session,
        program,
        SchemeDetails(
            "Company purchases",
            [],
            company_level=True,
            rules=[
                RuleInput(
                    "volume_rebate",
                    {"percent_by_tier": {"gold": "2", "silver": "1.5"}, "default_percent": "1"},
                ),
                RuleInput(
                    "cumulative_discount",
                    {
                        "steps": [
                            {"from_amount": "10000", "percent": "0.5"},
                            {"from_amount": "30000", "percent": "1"},
                            {"from_amount": "90000", "percent": "1.5"},
                        ]
                    },
                ),
            ],
        ),
        actor_id=channel_manager.id,
    )
    session.refresh(program)
    offer_program(session, program, actor_id=channel_manager.id)
    managers = {
        p.partner_id: p for p in session.scalars(select(Person).where(Person.email.is_not(None)))
    }
    for partner in partners:
        decide(
            session,
            program,
            partner,
            DecisionDetails(approve=True),
            actor_id=managers[partner.id].id,
        )
    launch_program(session, program, actor_id=channel_manager.id)
    return 1


def close_last_quarter(session: Session, today: date) -> int:
    """Close the last complete quarter (again: nothing new); returns the statements written."""
    last_day = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1) - timedelta(days=1)
    report = close_period(session, period_of(last_day, "Q"), today=today)
    return len(report.statements)
