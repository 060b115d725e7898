"""Transports behind one small interface, chosen by configuration.

`development` keeps messages in the outbox (admins read them on the Outbox page); `twilio`
sends SMS and WhatsApp through the real twilio library, pointed at TWILIO_API_URL when set
(tests and staging use a local fake of Twilio's API); e-mail goes over SMTP when SMTP_URL is
set; in-app messages are the outbox rows themselves, read in the person's inbox. A transport
answers with the provider's id and status, or raises a transient failure (worth retrying) or
a permanent one.
"""

import logging
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from messaging.models import MessageChannel

log = logging.getLogger(__name__)

#: Where Twilio reports each message's delivery status (messaging.webhooks), under PUBLIC_URL.
STATUS_CALLBACK_PATH = "/messaging/twilio/status"
#: Twilio error codes that will not change by trying again (30005 unknown handset and 30006
#: landline come in status callbacks; 63024 is a WhatsApp recipient that cannot be reached).
PERMANENT_CODES = frozenset({21211, 21408, 21610, 21612, 21614, 63003, 63024, 21606, 30005, 30006})
#: WhatsApp's "outside the messaging window": the person has not written for 24 hours. Not
#: the channel's fault: the message goes again by template (messaging.whatsapp).
WINDOW_CLOSED_CODES = frozenset({63016})


class TransportError(Exception):
    """The transport did not take the message."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class TransientFailure(TransportError):
    """Try again later: a timeout, a 5xx, a 429."""


class PermanentFailure(TransportError):
    """Do not try again on this channel: an invalid number, an opt-out, not a mobile."""


class WindowClosed(TransportError):
    """WhatsApp takes only a template now: the person's 24-hour window is closed."""


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


def twilio_client(config) -> Client:
    """The twilio library's client for the account; with TWILIO_API_URL, every API it uses
    (Messages, Content) goes there instead (a local fake in tests)."""
    http = TwilioHttpClient(timeout=config.get("TWILIO_TIMEOUT_SECONDS", 10))
    client = Client(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], http_client=http)
    if config.get("TWILIO_API_URL"):
        client.api.base_url = client.content.base_url = config["TWILIO_API_URL"].rstrip("/")
    return client


class TwilioTransport:
    def __init__(self, config):
        self.client = twilio_client(config)
        self.service_sid = config.get("TWILIO_MESSAGING_SERVICE_SID")
        self.sender = config.get("TWILIO_FROM")
        public_url = config.get("PUBLIC_URL")
        self.status_callback = public_url.rstrip("/") + STATUS_CALLBACK_PATH if public_url else None

    def send(self, message) -> tuple[str, str]:
        prefix = "whatsapp:" if message.channel == MessageChannel.WHATSAPP else ""
        options = {"to": prefix + message.recipient}
        if getattr(message, "content_sid", None):  # WhatsApp outside the window
            options["content_sid"] = message.content_sid
            if message.content_variables:
                options["content_variables"] = message.content_variables
        else:
            options["body"] = message.body
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
            if code in WINDOW_CLOSED_CODES:
                raise WindowClosed(str(code)) from None
            raise PermanentFailure(str(code)) from None
        except (requests.Timeout, requests.ConnectionError):
            raise TransientFailure("timeout") from None
        return sent.sid, sent.status or "queued"


class SmtpTransport:
    """E-mail through an SMTP server: smtp://user:password@host:port?starttls=1 or smtps://…"""

    def __init__(self, url: str, sender: str, timeout: float = 10):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise RuntimeError("SMTP_URL must look like smtp://user:password@host:587")
        self.ssl = parts.scheme == "smtps"
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0].lower() in ("1", "true")
        self.host, self.port = parts.hostname, parts.port or (465 if self.ssl else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender, self.timeout = sender, timeout

    def send(self, message) -> tuple[str, str]:
        email = EmailMessage()
        email["From"], email["To"] = self.sender, message.recipient
        email["Subject"] = message.subject or "PartnerLift"
        email["Message-ID"] = make_msgid(domain="partnerlift")
        email.set_content(message.body)
        try:
            with self._connect() as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as error:
            code, _ = next(iter(error.recipients.values()))
            raise (PermanentFailure if code >= 500 else TransientFailure)(f"smtp {code}") from None
        except smtplib.SMTPResponseException as error:
            failure = PermanentFailure if error.smtp_code >= 500 else TransientFailure
            raise failure(f"smtp {error.smtp_code}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise TransientFailure(f"smtp {type(error).__name__}") from None
        return email["Message-ID"].strip("<>")[:64], "sent"

    def _connect(self) -> smtplib.SMTP:
        if self.ssl:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout)
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)


class InAppTransport:
    """In-app messages need no provider: the row is what the person's inbox shows."""

    def send(self, message) -> tuple[str, str]:
        return f"inapp-{message.id}", "delivered"


class ChannelRouter:
    """One transport per channel, behind the same `send`."""

    def __init__(self, by_channel: dict[str, Transport]):
        self.by_channel = by_channel

    def send(self, message) -> tuple[str, str]:
        return self.by_channel[message.channel].send(message)


def transport_from_config(config) -> ChannelRouter:
    backend = config["MESSAGING_BACKEND"]
    if backend == "development":
        phone = DevelopmentTransport()
    elif backend == "twilio":
        phone = TwilioTransport(config)
    else:
        raise RuntimeError(f"unknown MESSAGING_BACKEND {backend!r}: use 'development' or 'twilio'")
    email = (
        SmtpTransport(config["SMTP_URL"], config["SMTP_FROM"])
        if config.get("SMTP_URL")
        else DevelopmentTransport()
    )
    return ChannelRouter(
        {
            MessageChannel.SMS: phone,
            MessageChannel.WHATSAPP: phone,
            MessageChannel.EMAIL: email,
            MessageChannel.INAPP: InAppTransport(),
        }
    )
