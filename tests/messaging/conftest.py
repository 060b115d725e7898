"""Fixtures for the messaging tests."""

import pytest

from messaging.transports import (
    ChannelRouter,
    DevelopmentTransport,
    InAppTransport,
    TwilioTransport,
)
from tests.messaging.fake_twilio import ACCOUNT_SID, FakeTwilio
from tests.messaging.fake_twilio import AUTH_TOKEN as FAKE_AUTH_TOKEN
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
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def transport(fake):
    twilio = TwilioTransport(
        {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": FAKE_AUTH_TOKEN,
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
