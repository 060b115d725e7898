"""Transports behind one small interface, chosen by configuration.

`development` keeps messages in the outbox (admins read them on the Outbox page); `twilio`
sends SMS and WhatsApp through the real twilio library, pointed at TWILIO_API_URL when set
(tests and staging use a local fake of Twilio's API). A transport answers with the
provider's id and status, or raises a transient failure (worth retrying) or a permanent one.
"""

import logging
import uuid
from typing import Protocol

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

log = logging.getLogger(__name__)

#: Where Twilio reports each message's delivery status (messaging.webhooks), under PUBLIC_URL.
STATUS_CALLBACK_PATH = "/messaging/twilio/status"
#: Twilio error codes that will not change by trying again.
PERMANENT_CODES = frozenset({21211, 21408, 21610, 21612, 21614, 63016, 63003, 21606})


class TransportError(Exception):
    """The transport did not take the message."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class TransientFailure(TransportError):
    """Try again later: a timeout, a 5xx, a 429."""


class PermanentFailure(TransportError):
    """Do not try again on this channel: an invalid number, an opt-out, not a mobile."""


class Transport(Protocol):
    def send(self, message) -> tuple[str, str]:
        """Deliver one outbox message; returns (the provider's id, its status)."""


class DevelopmentTransport:
    """Keeps messages local: they stay readable on the admin outbox page."""

    def send(self, message) -> tuple[str, str]:
        log.info(
            "outbox message %s (%s, %s) kept by the development transport",
            message.id,
            message.kind,
            message.channel,
        )
        return f"dev-{uuid.uuid4().hex}", "delivered"


class TwilioTransport:
    def __init__(self, config):
        http = TwilioHttpClient(timeout=config.get("TWILIO_TIMEOUT_SECONDS", 10))
        self.client = Client(
            config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], http_client=http
        )
        if config.get("TWILIO_API_URL"):
            self.client.api.base_url = config["TWILIO_API_URL"].rstrip("/")
        self.service_sid = config.get("TWILIO_MESSAGING_SERVICE_SID")
        self.sender = config.get("TWILIO_FROM")
        public_url = config.get("PUBLIC_URL")
        self.status_callback = public_url.rstrip("/") + STATUS_CALLBACK_PATH if public_url else None

    def send(self, message) -> tuple[str, str]:
        prefix = "whatsapp:" if message.channel == "whatsapp" else ""
        options = {"to": prefix + message.recipient, "body": message.body}
        if self.service_sid:
            options["messaging_service_sid"] = self.service_sid
        else:
            options["from_"] = prefix + (self.sender or "")
        if self.status_callback:
            options["status_callback"] = self.status_callback
        try:
            sent = self.client.messages.create(**options)
        except TwilioRestException as error:
            code = error.code or error.status
            if error.status == 429 or error.status >= 500 or code == 20429:
                raise TransientFailure(str(code)) from None
            if code in PERMANENT_CODES:
                raise PermanentFailure(str(code)) from None
            raise PermanentFailure(str(code)) from None
        except (requests.Timeout, requests.ConnectionError):
            raise TransientFailure("timeout") from None
        return sent.sid, sent.status or "queued"


def transport_from_config(config) -> Transport:
    backend = config["MESSAGING_BACKEND"]
    if backend == "development":
        return DevelopmentTransport()
    if backend == "twilio":
        return TwilioTransport(config)
    raise RuntimeError(f"unknown MESSAGING_BACKEND {backend!r}: use 'development' or 'twilio'")
