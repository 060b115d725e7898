"""`flask fulfilment`: deliver redeemed rewards.

`run` sends due gift card orders to the provider and asks about placed ones. Run it from the
worker's schedule (every minute): each order is committed on its own, so a worker killed
mid-call loses at most that one try, and the next run sends the same idempotency key again.
`ship` imports a supplier's shipment file; `pay` makes the payment file of a currency's
approved cash-outs.
"""

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from channel.fulfilment import place_next, poll_next
from channel.giftcard_provider import provider_from_config
from channel.payouts import build_batch, debtor_from_config
from channel.shipments import UnreadableShipmentsFile, import_shipments, read_shipments
from core.db import get_session, utcnow
from core.errors import InvalidInput

fulfilment_cli = AppGroup("fulfilment", help="Deliver redeemed rewards.")

#: Orders one run handles at most of each kind, so a run always ends.
BATCH = 500


@fulfilment_cli.command("run")
def run_command():
    """Place due gift card orders, then poll placed ones."""
    provider = provider_from_config(current_app.config)
    if provider is None:
        click.echo("GIFTCARD_PROVIDER_URL is not set: nothing to send.")
        return
    db = get_session()
    counts = {}
    for name, step in (("placed", place_next), ("polled", poll_next)):
        done = 0
        while done < BATCH and step(db, provider) is not None:
            db.commit()
            done += 1
        db.commit()
        counts[name] = done
    click.echo(f"{counts['placed']} order(s) sent, {counts['polled']} asked about.")


@fulfilment_cli.command("ship")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def ship_command(path):
    """Import a shipment file (CSV or XLSX: reference, tracking_number, carrier, shipped_on):
    each line ships its goods and tells the person. Exit 0; 2 when lines were refused; 1
    when the file cannot be read."""
    db = get_session()
    try:
        rows = list(read_shipments(path.read_bytes(), current_app.config["IMPORT_MAX_ROWS"]))
    except UnreadableShipmentsFile as unreadable:
        raise click.ClickException(str(unreadable.args[0])) from None
    report = import_shipments(db, rows, today=utcnow().date())
    db.commit()
    click.echo(
        f"{len(report.shipped)} shipped, {report.already} already imported, "
        f"{len(report.rejected)} refused"
    )
    for line, reason in report.rejected:
        click.echo(f"line {line}: {reason}")
    raise SystemExit(2 if report.rejected else 0)


@fulfilment_cli.command("pay")
@click.option("--currency", required=True, help="EUR (a SEPA file) or another (a CSV batch).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def pay_command(currency, out):
    """Pay every approved cash-out in CURRENCY in one batch and write its file to OUT
    (pain.001 XML for EUR, CSV otherwise). Exit 0; 1 when there is nothing to pay."""
    db = get_session()
    try:
        batch = build_batch(
            db,
            currency,
            debtor=debtor_from_config(current_app.config),
            actor_id=None,
            execution_date=utcnow().date(),
        )
    except InvalidInput as invalid:
        db.rollback()
        raise click.ClickException("; ".join(map(str, invalid.errors.values()))) from None
    # Paid once committed; should the file fail to write, the page still serves it.
    db.commit()
    out.write_text(batch.document, encoding="utf-8")
    click.echo(
        f"batch {batch.id}: {batch.count} cash-outs, {batch.total} {batch.currency} -> {out}"
    )
