"""Fixtures for the messaging tests."""

import pytest

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
