"""`flask api …`: make, list and revoke integration tokens from a terminal."""

from datetime import timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from channel.api.idempotency import forget_before
from channel.api.models import ApiToken, TokenScope
from channel.api.tokens import InvalidToken, create_token, revoke_token
from channel.cli import partner_by_legal_id
from core.db import get_session, utcnow


@click.group("api")
def api_cli():
    """The REST API's integration tokens."""


@api_cli.command("create-token")
@with_appcontext
@click.option("--name", required=True, help="The integration the token is for.")
@click.option(
    "--scope",
    required=True,
    type=click.Choice([scope.value for scope in TokenScope]),
    help="read or write.",
)
@click.option(
    "--partner",
    "partner_legal_id",
    default=None,
    help="Legal id of the partner it is limited to; omit for the manufacturer (all partners).",
)
def create_token_command(name, scope, partner_legal_id):
    """Make a token and print its secret, which is shown only this once."""
    db = get_session()
    partner_id = partner_by_legal_id(db, partner_legal_id).id if partner_legal_id else None
    try:
        issued = create_token(db, name=name, scope=scope, partner_id=partner_id)
    except InvalidToken as invalid:
        db.rollback()
        raise click.ClickException(
            "; ".join(f"{k}: {v}" for k, v in invalid.errors.items())
        ) from None
    db.commit()
    click.echo(
        f"created token {issued.token.id} ({scope}); keep this secret, it is not shown again:"
    )
    click.echo(issued.secret)


@api_cli.command("list-tokens")
@with_appcontext
def list_tokens_command():
    """Every token: id, scope, partner, state (never the secret)."""
    for token in get_session().scalars(select(ApiToken).order_by(ApiToken.id)):
        state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
        partner = token.partner.legal_id if token.partner else "all partners"
        click.echo(f"{token.id}\t{token.scope}\t{partner}\t{state}\t{token.name}")


@api_cli.command("revoke-token")
@with_appcontext
@click.argument("token_id", type=int)
def revoke_token_command(token_id):
    """Revoke a token by its id; it stops working at once."""
    db = get_session()
    token = db.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"no API token {token_id}")
    revoke_token(db, token)
    db.commit()
    click.echo(f"revoked token {token_id}")


@api_cli.command("forget-keys")
@with_appcontext
@click.option("--days", default=30, show_default=True, help="Keep the keys of this many days.")
def forget_keys_command(days):
    """Drop Idempotency-Key records older than --days; run it from cron."""
    db = get_session()
    dropped = forget_before(db, utcnow() - timedelta(days=days))
    db.commit()
    click.echo(f"forgot {dropped} idempotency keys")
