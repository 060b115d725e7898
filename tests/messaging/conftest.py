"""Fixtures for the messaging tests."""

import pytest

from messaging.transports import (
    ChannelRouter,
    DevelopmentTransport,
    InAppTransport,
    TwilioTransport,
)
from tests.messaging import fake_twilio
from tests.messaging.twilio_signing import AUTH_TOKEN


@pytest.fixture
def twilio_config(app):
    """The app configured with a Twilio auth token (and no proxy: the public address is the
    test client's own), restored afterwards."""
    keys = ("TWILIO_AUTH_TOKEN", "PUBLIC_URL", "WTF_CSRF_ENABLED", "TWILIO_WEBHOOK_RATE_LIMIT")
    saved = {key: app.config.get(key) for key in keys}
    app.config.update(TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_URL="http://localhost")
    yield app.config
    app.config.update(saved)


@pytest.fixture
def fake():
    """A local fake of Twilio's API, which the real twilio client talks to."""
    with fake_twilio.FakeTwilio() as server:
        yield server


@pytest.fixture
def media_config(app, fake, tmp_path):
    """The app on the fake's account: webhooks signed and media fetched with its token."""
    keys = (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_API_URL",
        "TWILIO_TIMEOUT_SECONDS",
        "TWILIO_MEDIA_SECONDS",
        "PUBLIC_URL",
        "UPLOAD_FOLDER",
    )
    saved = {key: app.config.get(key) for key in keys}
    app.config.update(
        TWILIO_ACCOUNT_SID=fake_twilio.ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=fake_twilio.AUTH_TOKEN,
        TWILIO_API_URL=fake.url,
        TWILIO_TIMEOUT_SECONDS=0.3,
        PUBLIC_URL="http://localhost",
        UPLOAD_FOLDER=str(tmp_path / "uploads"),
    )
    yield app.config
    app.config.update(saved)


@pytest.fixture
def transport(fake):
    """The channels as the worker has them, with SMS and WhatsApp through `fake`."""
    twilio = TwilioTransport(
        {
            "TWILIO_ACCOUNT_SID": fake_twilio.ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": fake_twilio.AUTH_TOKEN,
            "TWILIO_FROM": "+37120099999",
            "TWILIO_API_URL": fake.url,
            "TWILIO_TIMEOUT_SECONDS": 0.3,
        }
    )
    return ChannelRouter(
        {
            "sms": twilio,
            "whatsapp": twilio,
            "email": DevelopmentTransport(),
            "inapp": InAppTransport(),
        }
    )
