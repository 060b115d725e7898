"""The API's blueprint: every request authenticated by its bearer token and limited per token."""

from flask import current_app, g, request
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from channel.api.errors import ERROR_CODES, MESSAGES, ApiError, error_response
from channel.api.models import ApiToken, TokenScope
from channel.api.tokens import find_live_token, record_use
from core.db import get_session
from core.extensions import csrf, limiter

bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Partners, people, products, programs, claims, sales, purchases, serials, "
    "exchange rates, balances and the ledger.",
)
csrf.exempt(bp)


def _bearer() -> str:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def _presented_token() -> ApiToken | None:
    """The live token the request presents, or None: looked up once per request, for the
    rate limit (which comes first) and for authentication alike."""
    if "api_presented_token" not in g:
        g.api_presented_token = find_live_token(get_session(), _bearer())
    return g.api_presented_token


def _rate_key() -> str:
    """Per live token (by its hash, never the secret itself); per address otherwise.

    Made-up, revoked or missing tokens all count against the caller's address, so guessing
    with a new token on every request earns no fresh allowance.
    """
    token = _presented_token()
    if token is not None:
        return "api-token:" + token.token_hash
    return "api-address:" + (request.remote_addr or "")


def _rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


limiter.limit(_rate_limit, key_func=_rate_key)(bp)


@bp.before_request
def authenticate_token():
    session = get_session()
    token = _presented_token()
    if token is None:
        raise ApiError(401, "unauthorized", MESSAGES[401])
    record_use(session, token)
    session.commit()  # the token's last use, whatever this request does
    g.api_token = token
    if request.method == "POST":
        require_write()  # before the body is read: a read token learns nothing more
        if not request.is_json:
            raise ApiError(415, "unsupported_media_type", MESSAGES[415])


def current_token() -> ApiToken:
    return g.api_token


def require_write() -> ApiToken:
    token = current_token()
    if token.scope != TokenScope.WRITE:
        raise ApiError(403, "forbidden", "This token may only read; writing needs a write token.")
    return token


# By code as well as by class: the app's own handlers for 404, 405… would otherwise win.
bp.register_error_handler(HTTPException, error_response)
for _code in ERROR_CODES:
    bp.register_error_handler(_code, error_response)
