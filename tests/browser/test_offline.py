"""Offline on a phone: the last pages stay readable, a claim typed offline is sent on
reconnect, photos shrink before upload, and core pages stay light."""

import re
import struct
import zlib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from channel.claim_models import Claim
from core.db import get_session
from tests.browser.test_mobile_sign_in import no_horizontal_overflow, sign_in_by_phone

TECHNICIAN = "+972542345679"  # the demo's Persian technician
LIGHT = 60 * 1024


def big_png(width=2400, height=1800) -> bytes:
    """A camera-sized picture (plain colour, so the file itself is small)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + b"\x30\x80\xc0" * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


def claim_with_serial(app, serial):
    with app.app_context():
        return get_session().scalar(select(Claim).where(Claim.serial == serial))


def service_worker_ready(page):
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    # The first page was loaded before the worker took over: load once under it.
    page.reload()


def test_a_claim_typed_offline_is_sent_when_the_connection_returns(live_app, phone_page):
    page, base = phone_page, live_app.config["LIVE_URL"]
    sign_in_by_phone(live_app, page, TECHNICIAN, "en")
    page.goto(base + "/claims/new/install")
    service_worker_ready(page)
    page.context.set_offline(True)
    page.fill("input[name=serial]", "OFFLINE-0001")
    page.fill("input[name=site]", "Brīvības iela 1")
    page.set_input_files(
        "input[name=photo]",
        files=[{"name": "plate.png", "mimeType": "image/png", "buffer": big_png()}],
    )
    # The phone made the picture small before anything is sent.
    # (Polled from here: a predicate run in the page would be an eval, which the CSP refuses.)
    for _ in range(100):
        if (
            page.evaluate("document.querySelector('input[name=photo]').files[0].type")
            == "image/jpeg"
        ):
            break
        page.wait_for_timeout(50)
    width = page.evaluate(
        "createImageBitmap(document.querySelector('input[name=photo]').files[0]).then(b => b.width)"
    )
    assert width == 1600
    page.click("main button[type=submit]")
    # "Saved on this phone" replaces the plain offline notice once the claim is kept.
    page.locator(".offline-notice", has_text="روی این تلفن ذخیره شد").wait_for()
    assert claim_with_serial(live_app, "OFFLINE-0001") is None  # nothing left the phone
    page.context.set_offline(False)
    page.wait_for_selector(".offline-notice.flash-success", timeout=15000)
    claim = claim_with_serial(live_app, "OFFLINE-0001")
    assert claim is not None and claim.site == "Brīvības iela 1"
    assert [photo.mime_type for photo in claim.photos] == ["image/jpeg"]
    assert page.evaluate("localStorage.getItem('partnerlift.claims')") == "[]"


def test_the_last_balance_shows_offline_with_a_clear_notice(live_app, phone_page):
    page, base = phone_page, live_app.config["LIVE_URL"]
    sign_in_by_phone(live_app, page, TECHNICIAN, "fa")
    service_worker_ready(page)  # /me, now kept by the worker
    balance = page.inner_text("[data-balance]")
    page.context.set_offline(True)
    page.goto(base + "/me")
    assert page.inner_text("[data-balance]") == balance
    notice = page.wait_for_selector(".offline-notice")
    assert "آفلاین" in notice.inner_text()
    assert no_horizontal_overflow(page)
    page.context.set_offline(False)


def test_core_pages_stay_under_60_kb(live_app, phone_page):
    page, base = phone_page, live_app.config["LIVE_URL"]
    sign_in_by_phone(live_app, page, TECHNICIAN, "ru")
    sizes: dict[str, int] = {}
    page.on("response", lambda response: sizes.__setitem__(response.url, len(response.body())))
    for path in ("/me", "/claims/new/install", "/claims/mine", "/rewards"):
        sizes.clear()
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        total = sum(
            size for url, size in sizes.items() if not re.search(r"\.(png|jpe?g|webp)$", url)
        )
        assert total < LIGHT, (path, sizes)


def test_a_claim_form_kept_from_yesterday_offers_the_phones_today_offline(live_app, browser):
    """Past midnight, offline, the phone shows the claim form it kept yesterday: its date
    moves on to the phone's today, so a claim typed now is not dated yesterday."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, timezone_id="Asia/Jerusalem"
    )
    page, base = context.new_page(), live_app.config["LIVE_URL"]
    try:
        sign_in_by_phone(live_app, page, TECHNICIAN, "en")
        page.goto(base + "/claims/new/install")
        service_worker_ready(page)
        offered = date.fromisoformat(page.input_value("#occurred_on"))
        assert page.get_attribute("#occurred_on", "max") == offered.isoformat()
        after_midnight = offered + timedelta(days=1)
        page.context.set_offline(True)
        page.clock.set_fixed_time(
            datetime.combine(after_midnight, time(0, 30), tzinfo=ZoneInfo("Asia/Jerusalem"))
        )
        page.reload()
        page.locator(".offline-notice").wait_for()  # the kept copy, not the server
        assert page.input_value("#occurred_on") == after_midnight.isoformat()
        assert page.get_attribute("#occurred_on", "max") == after_midnight.isoformat()
    finally:
        context.close()
