"""With Redis as the limiter's store, two server processes share one sign-in limit."""

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from tests.conftest import ROOT
from tests.servers import free_port, server_environment, status_of

REDIS_URL = os.environ.get("PARTNERLIFT_TEST_REDIS", "redis://127.0.0.1:6379")


@pytest.fixture
def two_servers(tmp_path):
    env = server_environment(
        SECRET_KEY="rate-limit-test",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        RATELIMIT_STORAGE_URI=REDIS_URL,
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        LOGIN_RATE_LIMIT="4 per minute",
        SESSION_COOKIE_SECURE="0",
    )
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        deadline = time.monotonic() + 30
        for port in ports:
            while status_of(f"http://127.0.0.1:{port}/sign-in/phone") != 200:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        yield ports
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


def test_sign_in_limit_is_shared_by_every_process(two_servers):
    # One browser: the session cookie (and so the CSRF token) is valid on both servers.
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    first, second = two_servers
    with browser.open(f"http://127.0.0.1:{first}/sign-in/phone", timeout=10) as page:
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.read().decode())

    def attempt(port):
        form = urllib.parse.urlencode({"csrf_token": token.group(1), "phone": "12"}).encode()
        try:
            with browser.open(f"http://127.0.0.1:{port}/sign-in/phone", data=form, timeout=10):
                return 200
        except urllib.error.HTTPError as error:
            return error.code

    # A malformed number: 400 each time, and each one counts against the shared limit.
    answers = [attempt(port) for port in (first, second, first, second)]
    assert 429 not in answers
    assert attempt(first) == 429
    assert attempt(second) == 429
