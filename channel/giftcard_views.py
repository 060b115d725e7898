"""The gift-card provider's webhook: an order's new status, signed with the shared secret.

The body is JSON; `X-Signature` is the hex HMAC-SHA256 of the raw body with
GIFTCARD_WEBHOOK_SECRET. Unsigned or badly signed calls, or any call while no secret is
configured, get 403. Exempt from CSRF (the provider has no session) and rate-limited.
"""

import logging

from flask import Blueprint, Response, abort, current_app, request

from channel.fulfilment import UnknownOrder, apply_webhook
from channel.giftcard_provider import ProviderUnavailable, signature_valid
from core.db import get_session
from core.extensions import csrf, limiter

log = logging.getLogger(__name__)

#: An order's status is a few hundred bytes; anything far larger is not the provider's.
MAX_BODY_BYTES = 16 * 1024

bp = Blueprint("giftcards", __name__, url_prefix="/fulfilment/gift-cards")
csrf.exempt(bp)


@bp.post("/webhook")
@limiter.limit(lambda: current_app.config["TWILIO_WEBHOOK_RATE_LIMIT"])
def provider_webhook():
    request.max_content_length = MAX_BODY_BYTES
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return Response(status=413)
    body = request.get_data(cache=True)
    secret = current_app.config.get("GIFTCARD_WEBHOOK_SECRET") or ""
    if not signature_valid(secret, body, request.headers.get("X-Signature")):
        log.warning("gift card webhook refused: bad or missing signature")
        abort(403)
    payload = request.get_json(silent=True)
    db = get_session()
    try:
        apply_webhook(db, payload)
    except ProviderUnavailable:
        abort(400)
    except UnknownOrder:
        abort(404)
    db.commit()
    return Response(status=204)
