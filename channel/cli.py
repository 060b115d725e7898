"""`flask seed-demo` loads the demo; `flask ledger check|release` keeps the ledger exact;
`flask rollups refresh` stores closed months' engagement and earnings for the dashboards;
`flask create-user` adds a person (an admin, a channel manager, a partner's staff);
`flask import-sales|import-purchases|import-serials|import-partners FILE` and
`flask rates import FILE` bring data in."""

import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from channel.claim_rollups import check_claim_months
from channel.coalition import brands, parse_month, settle
from channel.demo import DEMO_PASSWORD, seed_demo
from channel.exchange_rates import UnreadableRatesFile, import_rates
from channel.expiry import expire_points, points_lifetime, release_due
from channel.exports import csv_chunks
from channel.models import Program, ProgramStatus
from channel.month_rollups import check_months, months_to_refresh, refresh_months
from channel.partner_import import UnreadablePartnersFile, import_partners, read_partners
from channel.partner_models import PartnerOrganization
from channel.person_months import check_person_months
from channel.postings import check_balances
from channel.programs import enrolled_batches, welcome_enrolled
from channel.purchase_import import (
    UnreadablePurchasesFile,
    import_purchases,
    import_serials,
    read_purchases,
    read_serials,
)
from channel.rebate_documents import credit_memo_table
from channel.rebate_models import InvalidPeriod
from channel.rebate_reports import period_statements
from channel.rebates import close_period
from channel.rollups import check_rollups
from channel.sales_import import UnreadableSalesFile, import_sales, read_sales
from channel.tiers import recompute
from core.db import get_session, utcnow
from core.errors import InvalidInput
from roles.auth import make_password_hasher, set_password
from roles.people import InvalidPerson, PersonDetails, Placement, save_person
from roles.permissions import Role


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Load the demo: manufacturer, partners, staff, programs, a year of purchases with
    serials and rates, and a closed rebate quarter (safe to run again)."""
    db = get_session()
    created = seed_demo(db, make_password_hasher(current_app.config).hash(DEMO_PASSWORD))
    db.commit()
    click.echo("demo loaded: " + ", ".join(f"{n} new {k}" for k, n in created.items()))


ledger_cli = AppGroup("ledger", help="Keep the points ledger exact.")


@ledger_cli.command("check")
def check_command():
    """Recompute every balance, monthly rollup and budget total from the entries, every
    stored month's engagement, the claims' monthly counts and each person's months, and
    compare; exit 1 on any difference."""
    db = get_session()
    wrong = check_balances(db)
    for account, stored, derived in wrong:
        click.echo(f"{account}: balance row {stored}, entries add up to {derived}")
    click.echo(f"{len(wrong)} accounts differ" if wrong else "every balance equals its entries")
    rollups = (
        check_rollups(db) + check_months(db) + check_claim_months(db) + check_person_months(db)
    )
    for difference in rollups:
        click.echo(difference)
    click.echo(f"{len(rollups)} rollups differ" if rollups else "every rollup equals its entries")
    raise SystemExit(1 if wrong or rollups else 0)


@ledger_cli.command("release")
def release_command():
    """Make pending points whose return window has passed available."""
    db = get_session()
    released = release_due(db, utcnow())
    db.commit()
    click.echo(f"released {released} pending earnings")


@ledger_cli.command("expire")
@click.option(
    "--months", type=int, default=None, help="Lifetime of points (default: POINTS_LIFETIME_MONTHS)."
)
def expire_command(months):
    """Expire available points older than their lifetime, oldest first."""
    months = months or current_app.config["POINTS_LIFETIME_MONTHS"]
    db = get_session()
    expired = expire_points(db, utcnow(), points_lifetime(months))
    db.commit()
    click.echo(f"expired {sum(expired.values())} points in {len(expired)} accounts")


rollups_cli = AppGroup("rollups", help="What the dashboards read instead of the whole history.")


@rollups_cli.command("refresh")
@click.option("--all", "everything", is_flag=True, help="Recount every closed month.")
def refresh_rollups_command(everything):
    """Store the engagement and people's earnings of closed months not stored yet, and of the
    last closed month (run it daily; the month in progress is always read live)."""
    db = get_session()
    now = utcnow()
    stored = refresh_months(db, months_to_refresh(db, now, everything), now)
    db.commit()
    click.echo(f"engagement and earnings stored for {stored} months")


programs_cli = AppGroup("programs", help="Live programs.")


@programs_cli.command("welcome")
def welcome_command():
    """Welcome everyone enrolled in a live program who has not been yet (the enrolment
    activity, any welcome bonus, the "you're in" message), a committed batch at a time.
    A launch welcomes its first batch itself: run this from cron every minute."""
    db = get_session()
    programs = db.scalars(
        select(Program).where(Program.status == ProgramStatus.ACTIVE).order_by(Program.id)
    )
    for program in programs.all():
        batches = list(enrolled_batches(db, program))
        with click.progressbar(
            batches, label=f"program {program.id}", show_pos=True, file=sys.stderr
        ) as bar:
            for person_ids in bar:
                welcome_enrolled(db, program, person_ids)
                db.commit()
    click.echo("every enrolled person in a live program has been welcomed")


tiers_cli = AppGroup("tiers", help="Partner tiers.")


@tiers_cli.command("recompute")
def recompute_command():
    """Recompute every partner's tier from its last 12 months (overrides win until they end)."""
    db = get_session()
    changes = recompute(db, utcnow())
    db.commit()
    for change in changes:
        click.echo(
            f"partner {change.partner_id}: tier {change.from_tier_id} -> {change.to_tier_id} ({change.reason_code})"
        )
    click.echo(f"{len(changes)} tier changes")


@click.command("import-sales")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_sales_command(path):
    """Import a distributor's sell-out file (CSV or XLSX). Exit 0: all lines in; 2: some rejected."""
    config = current_app.config
    db = get_session()
    rows = _read_rows(read_sales, path, UnreadableSalesFile)
    with click.progressbar(length=len(rows), label="importing sales lines") as bar:
        report = import_sales(
            db,
            rows,
            now=utcnow(),
            return_window=timedelta(days=config["RETURN_WINDOW_DAYS"]),
            on_progress=bar.update,
        )
    db.commit()
    _finish_import(
        f"{report.imported} imported, {report.already_imported} already imported, "
        f"{len(report.rejected)} rejected",
        report.rejected,
    )


def _read_rows(read, path: str, unreadable) -> list:
    """The rows of the file at `path` through `read`, or the reason the whole file is refused."""
    try:
        return list(read(Path(path).read_bytes(), current_app.config["IMPORT_MAX_ROWS"]))
    except unreadable as refused:
        raise click.ClickException(str(refused.args[0])) from None


def _finish_import(summary: str, rejected, notes=()) -> None:
    """Say what an import did, list each refused (and noted) line; exit 2 if any was refused."""
    click.echo(summary)
    for line, reason in [*rejected, *notes]:
        click.echo(f"line {line}: {reason}")
    raise SystemExit(2 if rejected else 0)


@click.command("import-purchases")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_purchases_command(path):
    """Import invoice and credit-note lines with their serials (CSV or XLSX). Exit 0: all
    lines in; 2: some rejected."""
    db = get_session()
    rows = _read_rows(read_purchases, path, UnreadablePurchasesFile)
    with click.progressbar(length=len(rows), label="importing purchase lines") as bar:
        report = import_purchases(db, rows, today=utcnow().date(), on_progress=bar.update)
    db.commit()
    _finish_import(
        f"{report.imported} imported, {report.already_imported} already imported, "
        f"{len(report.rejected)} rejected; {report.serials} serials registered or moved",
        report.rejected,
        report.held,
    )


@click.command("import-partners")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_partners_command(path):
    """Create or update partners (legal_id, country, name, kind, parent, contract_started_on),
    CSV or XLSX. Exit 0: all rows in; 2: some rejected."""
    db = get_session()
    try:
        rows = list(read_partners(Path(path).read_bytes(), current_app.config["IMPORT_MAX_ROWS"]))
    except UnreadablePartnersFile as unreadable:
        raise click.ClickException(str(unreadable.args[0])) from None
    report = import_partners(db, rows, today=utcnow().date())
    db.commit()
    click.echo(
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.rejected)} rejected"
    )
    for line, reason in report.rejected:
        click.echo(f"line {line}: {reason}")
    raise SystemExit(2 if report.rejected else 0)


@click.command("import-serials")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_serials_command(path):
    """Register shipped serials from a list (serial, sku, partner, date), CSV or XLSX. Exit 0:
    all in; 2: some rejected."""
    db = get_session()
    report = import_serials(
        db, _read_rows(read_serials, path, UnreadablePurchasesFile), today=utcnow().date()
    )
    db.commit()
    _finish_import(
        f"{report.registered} registered, {report.already_known} already known, "
        f"{len(report.rejected)} rejected",
        report.rejected,
    )


rates_cli = AppGroup("rates", help="Exchange rates for converting purchases.")


@rates_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_rates_command(path):
    """Import a reference-rate CSV (Date, then units per euro by currency). Exit 2 if any
    rate was refused."""
    db = get_session()
    try:
        report = import_rates(db, Path(path).read_bytes())
    except UnreadableRatesFile as unreadable:
        raise click.ClickException(str(unreadable.args[0])) from None
    db.commit()
    click.echo(
        f"{report.added} rates added, {report.unchanged} already known, "
        f"{len(report.rejected)} refused"
    )
    for line, currency, reasons in report.rejected:
        click.echo(f"line {line} {currency}: {'; '.join(reasons)}".replace("  ", " "))
    raise SystemExit(2 if report.rejected else 0)


coalition_cli = AppGroup("coalition", help="Coalition brands whose rewards are paid in points.")


@coalition_cli.command("settle")
@click.option("--month", required=True, help="The month to settle, e.g. 2026-11.")
def settle_coalition_command(month):
    """Print each brand's settlement for MONTH: points redeemed for its rewards (less those
    cancelled in the month) times its agreed rate, in its currency. Exit 1 on a bad month."""
    db = get_session()
    try:
        first_day = parse_month(month)
    except InvalidInput as invalid:
        raise click.ClickException(str(invalid)) from None
    for brand in brands(db):
        result = settle(db, brand, first_day)
        click.echo(
            f"{brand.name}: {result.points} points x {brand.rate_per_point} "
            f"= {result.amount} {brand.currency} ({len(result.lines)} lines)"
        )


rebates_cli = AppGroup("rebates", help="Rebates partners earn on their purchases.")


@rebates_cli.command("close")
@click.option(
    "--period", required=True, help="A quarter (2026-Q4) or a month (2026-11) that is over."
)
def close_rebates_command(period):
    """Write one statement per program and partner for PERIOD (once: closing again pays
    nothing more). Exit 0; 1 if the period cannot be closed."""
    db = get_session()
    try:
        report = close_period(db, period, today=utcnow().date())
    except InvalidPeriod as invalid:
        raise click.ClickException(str(invalid.errors["period"])) from None
    db.commit()
    click.echo(
        f"{len(report.statements)} statements written, {report.already_closed} already closed, "
        f"{len(report.held)} purchase lines held for want of an exchange rate"
    )
    for statement in report.statements:
        click.echo(f"{statement.reference}: {statement.total} {statement.currency}")
    for partner, purchase, why in report.held:
        click.echo(f"held: {partner.legal_id} {purchase.number}/{purchase.line}: {why}")


@rebates_cli.command("credit-memos")
@click.option("--period", required=True, help="A closed period, e.g. 2026-Q4.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default="-",
    help="The CSV file to write (default: standard output).",
)
def credit_memos_command(period, output):
    """The credit memos of a closed period as CSV for the ERP: reference, partner, amount."""
    statements = period_statements(get_session(), period)
    if not statements:
        raise click.ClickException(f"no statement for the period {period}: close it first")
    with click.open_file(output, "w", encoding="utf-8") as target:
        for chunk in csv_chunks(credit_memo_table(statements[0].period, statements)):
            target.write(chunk)


def partner_by_legal_id(db, legal_id: str) -> PartnerOrganization:
    """The partner organization a command names by its legal id; a clear error if none."""
    partner = db.scalar(
        select(PartnerOrganization).where(PartnerOrganization.legal_id == legal_id.upper())
    )
    if partner is None:
        raise click.ClickException(f"no partner organization with legal id {legal_id}")
    return partner


@click.command("create-user")
@with_appcontext
@click.option("--name", required=True, help="Full name.")
@click.option("--phone", required=True, help="Mobile number with country code, e.g. +37120000000.")
@click.option("--email", default=None, help="E-mail; needed to sign in with a password.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="A role to give; repeat for several.",
)
@click.option(
    "--partner",
    "partner_legal_id",
    default=None,
    help="Legal id of the partner; omit for the manufacturer's people.",
)
@click.option("--language", default=None, help="en, lv, pl, ru, he or fa.")
@click.option("--timezone", default=None, help="IANA zone, e.g. Europe/Riga.")
@click.option("--password", is_flag=True, help="Ask for a password (needs --email).")
def create_user_command(name, phone, email, roles, partner_legal_id, language, timezone, password):
    """Create a person who can sign in (by phone code, and by password if one is set)."""
    db = get_session()
    partner = partner_by_legal_id(db, partner_legal_id) if partner_legal_id else None
    secret = None
    if password:
        if not email:
            raise click.ClickException(
                "a password needs --email: managers sign in with e-mail and password"
            )
        secret = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        person = save_person(
            db,
            PersonDetails(
                full_name=name,
                phone=phone,
                email=email,
                roles=list(roles),
                language=language,
                timezone=timezone,
            ),
            Placement.at(
                partner,
                assignable=Role,
                phone_region=current_app.config["DEFAULT_PHONE_REGION"],
            ),
        )
        if secret is not None:
            set_password(db, person, secret, make_password_hasher(current_app.config), utcnow())
    except InvalidPerson as invalid:
        db.rollback()
        raise click.ClickException(
            "; ".join(f"{k}: {v}" for k, v in invalid.errors.items())
        ) from None
    except ValueError as problem:
        db.rollback()
        raise click.ClickException(f"password: {problem.args[0]}") from None
    db.commit()
    click.echo(f"created person {person.id} ({', '.join(sorted(person.roles))})")
