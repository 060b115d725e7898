"""Transports behind one small interface, chosen by the MESSAGING_BACKEND setting.

Only the development transport exists yet: it delivers nowhere and keeps the message in
the outbox, where admins read it (the messaging issue adds Twilio and SMTP).
"""

import logging
import uuid
from typing import Protocol

log = logging.getLogger(__name__)


class TransportError(Exception):
    """The transport refused the message."""


class Transport(Protocol):
    def send(self, message) -> str:
        """Deliver one outbox message; returns the provider's id for it."""


class DevelopmentTransport:
    """Keeps messages local: they stay readable on the admin outbox page."""

    def send(self, message) -> str:
        log.info(
            "outbox message %s (%s, %s) kept by the development transport",
            message.id,
            message.kind,
            message.channel,
        )
        return f"dev-{uuid.uuid4().hex}"


def transport_from_config(config) -> Transport:
    backend = config["MESSAGING_BACKEND"]
    if backend == "development":
        return DevelopmentTransport()
    raise RuntimeError(f"unknown MESSAGING_BACKEND {backend!r}; this version knows 'development'")
