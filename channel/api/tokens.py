"""Integration tokens: made with a secret shown once, found by its hash, revoked for good."""

import hashlib
import logging
import secrets
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from channel.api.models import ApiToken, TokenScope
from channel.partner_models import PartnerOrganization
from core.db import utcnow
from core.errors import InvalidInput

log = logging.getLogger(__name__)

#: Marks PartnerLift's tokens in logs and secret scanners; the rest is 32 random bytes.
TOKEN_PREFIX = "plk_"  # noqa: S105 - a public marker, not a secret


class InvalidToken(InvalidInput):
    """The token cannot be made as asked; nothing was saved."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    #: The bearer secret: shown to its maker once, never stored.
    secret: str


def create_token(
    session: Session,
    *,
    name: str,
    scope: str,
    partner_id: int | None = None,
    created_by_id: int | None = None,
) -> IssuedToken:
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _l("Name the integration this token is for.")
    elif len(name) > 200:
        errors["name"] = _l("Keep the name within 200 characters.")
    if scope not in list(TokenScope):
        errors["scope"] = _l("Choose read or write.")
    if partner_id is not None and session.get(PartnerOrganization, partner_id) is None:
        errors["partner_id"] = _l("Choose a partner.")
    if errors:
        raise InvalidToken(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        token_hash=hash_secret(secret),
        scope=scope,
        partner_id=partner_id,
        created_by_id=created_by_id,
        created_at=utcnow(),
    )
    session.add(token)
    session.flush()
    log.info(
        "api token %s created: scope=%s partner=%s by=%s",
        token.id,
        scope,
        partner_id,
        created_by_id,
    )
    return IssuedToken(token, secret)


def revoke_token(session: Session, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        log.info("api token %s revoked", token.id)


def find_live_token(session: Session, secret: str) -> ApiToken | None:
    """The live token with this secret; None for no secret, an unknown or a revoked one."""
    if not secret:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    return token if token is not None and token.revoked_at is None else None


def record_use(session: Session, token: ApiToken) -> None:
    """Note that `token` was just used."""
    now = utcnow()
    # Written at most once a minute per token, so busy integrations do not contend on the row.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token.id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        token.last_used_at = now


def tokens_newest_first(session: Session) -> list[ApiToken]:
    """Every token ever made, revoked ones too, with its partner and maker."""
    return list(
        session.scalars(
            select(ApiToken)
            .options(selectinload(ApiToken.partner), selectinload(ApiToken.created_by))
            .order_by(ApiToken.id.desc())
        )
    )


def partners_by_name(session: Session) -> list[PartnerOrganization]:
    """The partners a token may be limited to: every one, by name."""
    return list(session.scalars(select(PartnerOrganization).order_by(PartnerOrganization.name)))
