"""No secret reaches a log line: passwords, sign-in codes and links, API secrets, phone numbers."""

import io
import logging
import re

import pytest

from core.db import utcnow
from core.logs import configure_logging
from messaging.delivery import deliver_next
from messaging.transports import DevelopmentTransport
from roles.permissions import Role
from tests.builders import PASSWORD, make_api_token
from tests.roles.test_sign_in import last_code, last_code_sms


@pytest.fixture
def log_lines():
    """Everything logged during the test at DEBUG and above, through the app's own handler."""
    stream = io.StringIO()
    handler = configure_logging("text", stream)
    root = logging.getLogger()
    level, root.level = root.level, logging.DEBUG
    yield stream
    root.setLevel(level)
    root.removeHandler(handler)


def test_sign_in_and_api_secrets_never_reach_the_logs(app, client, db, world, log_lines):
    technician = world.people[Role.TECHNICIAN]
    manager = world.people[Role.CHANNEL_MANAGER]
    client.post("/sign-in/phone", data={"phone": technician.phone})
    code = last_code(db, technician)
    link = re.search(r"/s/([\w-]+)", last_code_sms(db, technician)).group(1)
    while deliver_next(db, DevelopmentTransport(), now=utcnow()):
        pass
    client.post("/sign-in/phone/code", data={"code": "000000" if code != "000000" else "111111"})
    client.post("/sign-in/phone/code", data={"code": code})
    client.post("/sign-out")
    client.get(f"/s/{link}")
    client.post("/sign-in", data={"email": manager.email, "password": PASSWORD})
    client.post("/sign-in", data={"email": manager.email, "password": "a wrong guess"})
    _, headers = make_api_token(db, scope="read")
    secret = headers["Authorization"].removeprefix("Bearer ")
    client.get("/api/v1/products", headers=headers)
    client.get("/api/v1/products", headers={"Authorization": "Bearer plk_not-a-real-one"})

    logged = log_lines.getvalue()
    assert "sign-in person=" in logged, "the flow above logged nothing: the capture is broken"
    for secret_value in (
        code,
        link,
        PASSWORD,
        "a wrong guess",
        secret,
        "plk_not-a-real-one",
        technician.phone,
        technician.phone.lstrip("+"),
        app.config["SECRET_KEY"],
    ):
        assert secret_value not in logged
