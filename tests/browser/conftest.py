"""A live server on loopback, with the demo data, driven by Playwright in Debian's Chromium."""

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from tests.conftest import DATABASES, TEST_CONFIG, migrated_database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module", params=DATABASES)
def live_app(request, tmp_path_factory):
    with migrated_database(request.param, tmp_path_factory) as url:
        app = create_app(
            {
                **TEST_CONFIG,
                "DATABASE_URL": url,
                "WTF_CSRF_ENABLED": True,
                "RATELIMIT_ENABLED": False,
                # The same demo people sign in for many tests; the limit has tests of its own.
                "SIGN_IN_CODES_PER_WINDOW": 1000,
            }
        )
        result = app.test_cli_runner().invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        # The links in its messages point at where it serves, as PUBLIC_URL does in production.
        app.config["LIVE_URL"] = app.config["PUBLIC_URL"] = f"http://127.0.0.1:{server.server_port}"
        try:
            yield app
        finally:
            server.shutdown()
            thread.join(timeout=10)
            app.extensions["partnerlift.engine"].dispose()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone_page(browser):
    """A page the size of a small phone."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=1)
    yield context.new_page()
    context.close()


@pytest.fixture
def desktop_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()
