"""Twilio's webhooks: delivery status callbacks and inbound SMS/WhatsApp, both signature-checked.

Twilio signs each request with the account's auth token over the URL it called and the
form fields (`X-Twilio-Signature`); a request that does not verify, or any request while
no token is configured, gets 403. Behind a proxy the URL Twilio called is rebuilt from
PUBLIC_URL. The endpoints are exempt from CSRF (Twilio has no session) and rate-limited.
An inbound message's photos are fetched before its transaction (`messaging.inbound_media`).
"""

import logging
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from channel.expiry import points_lifetime
from channel.uploads import proofs_kept_on_success
from core.db import get_session, utcnow
from core.extensions import csrf, limiter
from messaging.delivery_status import record_delivery_status
from messaging.inbound import InboundSettings, receive_once, takes_photos
from messaging.inbound_media import TwilioMedia, fetch_photos, media_items
from messaging.surveys.dialogue import DialogueSettings
from messaging.surveys.triggers import links_from_config
from roles.auth import code_policy

log = logging.getLogger(__name__)

#: Twilio's MessageSids are 34 characters; the column holds 64.
MAX_SID = 64

#: Twilio's longest SMS body is 1,600 characters; with every other field it posts, a webhook
#: stays far below this. A larger body is not Twilio's and is refused before it is parsed.
MAX_BODY_BYTES = 64 * 1024

bp = Blueprint("webhooks", __name__, url_prefix="/messaging/twilio")
csrf.exempt(bp)


@bp.before_request
def refuse_large_bodies():
    # The limit also stops a body sent without a length (chunked) once it passes 64 KiB.
    request.max_content_length = MAX_BODY_BYTES
    if (request.content_length or 0) > MAX_BODY_BYTES:
        log.warning("twilio webhook refused: body of %s bytes", request.content_length)
        return Response(status=413)
    return None


def _rate_limit() -> str:
    return current_app.config["TWILIO_WEBHOOK_RATE_LIMIT"]


def signed_url() -> str:
    """The URL Twilio signed: the public address (behind a proxy the requested one differs)."""
    public = current_app.config["PUBLIC_URL"]
    query = request.query_string.decode("latin-1")
    return public.rstrip("/") + request.path + (f"?{query}" if query else "")


def _require_signature() -> None:
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token:
        log.warning("twilio webhook refused: TWILIO_AUTH_TOKEN is not configured")
        abort(403)
    if not signature or not RequestValidator(token).validate(signed_url(), request.form, signature):
        log.warning("twilio webhook refused: bad or missing signature path=%s", request.path)
        abort(403)


def _text(name: str) -> str:
    """A field as the database can hold it: a NUL character (which PostgreSQL refuses in
    text) could come from a phone or a carrier, so it is dropped rather than the message."""
    return request.form.get(name, "").replace("\x00", "")


def _message_sid() -> str:
    """The MessageSid, or 400 when there is none that could be Twilio's."""
    message_sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    if not message_sid or len(message_sid) > MAX_SID or "\x00" in message_sid:
        abort(400)
    return message_sid


@bp.post("/status")  # STATUS_CALLBACK_PATH, which outgoing messages name
@limiter.limit(_rate_limit)
def twilio_status():
    _require_signature()
    message_sid = _message_sid()
    status = _text("MessageStatus") or _text("SmsStatus")
    if not status:
        abort(400)
    db = get_session()
    record_delivery_status(db, message_sid, status, _text("ErrorCode"), now=utcnow())
    db.commit()
    return Response(status=200)


@bp.post("/inbound")
@limiter.limit(_rate_limit)
def twilio_inbound():
    _require_signature()
    message_sid = _message_sid()
    db = get_session()
    sender, body, media = _text("From"), _text("Body"), media_items(request.form)
    with proofs_kept_on_success(current_app.config["UPLOAD_FOLDER"]) as store:
        photos = None
        if media and takes_photos(db, message_sid, sender, body):
            db.rollback()  # only read so far: no transaction stays open while photos download
            photos = fetch_photos(TwilioMedia(current_app.config), media, store)
        message = receive_once(
            db,
            message_sid=message_sid,
            from_address=sender,
            body=body,
            now=utcnow(),
            settings=_inbound_settings(),
            photos=photos,
        )
        db.commit()
        if photos is not None and not photos.attached:
            store.discard()  # refused, or a retry that raced the first delivery: no claim
    twiml = MessagingResponse()
    if message.reply:
        twiml.message(message.reply)
    return Response(str(twiml), mimetype="application/xml")


def _inbound_settings() -> InboundSettings:
    config = current_app.config
    return InboundSettings(
        languages=tuple(config["LANGUAGES"]),
        default_language=config["BABEL_DEFAULT_LOCALE"],
        code_policy=code_policy(config),
        points_lifetime=points_lifetime(config["POINTS_LIFETIME_MONTHS"]),
        return_window=timedelta(days=config["RETURN_WINDOW_DAYS"]),
        surveys=DialogueSettings(
            languages=tuple(config["LANGUAGES"]),
            default_language=config["BABEL_DEFAULT_LOCALE"],
            links=links_from_config(config),
        ),
    )
