"""Real-browser checks: phone sign-in on a 360 px screen, right-to-left layouts, desktop managers."""

import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.config import LANGUAGES
from core.db import get_session
from messaging.models import OutboxMessage
from roles.models import Person


def latest_sms(app, phone) -> str:
    with app.app_context():
        return get_session().scalar(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipient == phone)
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )


def latest_code(app, phone):
    return re.search(r"\d{6}", latest_sms(app, phone)).group(0)


def no_horizontal_overflow(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def screenshot(page, name):
    """Keep a picture when PARTNERLIFT_SCREENSHOTS names a folder (the README's come from here)."""
    folder = os.environ.get("PARTNERLIFT_SCREENSHOTS")
    if folder:
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def sign_in_by_phone(app, page, phone, language):
    base = app.config["LIVE_URL"]
    page.set_extra_http_headers({"Accept-Language": language})
    page.goto(base + "/sign-in/phone")
    page.fill("input[name=phone]", phone)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/sign-in/phone/code$"))
    page.fill("input[name=code]", latest_code(app, phone))
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/me$"))


def test_persian_technician_signs_in_by_sms_code_on_a_small_phone(live_app, phone_page):
    sign_in_by_phone(live_app, phone_page, "+972542345679", "fa")
    page = phone_page
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "fa"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert "داریوش رحیمی" in page.inner_text("h1")
    # Mirrored: the brand sits at the right edge, the content starts from the right.
    brand = page.locator(".brand").bounding_box()
    assert brand["x"] > 360 / 2
    assert no_horizontal_overflow(page)
    screenshot(page, "mobile-home-fa")


def latest_link(app, phone):
    return re.search(r"https?://\S+/s/[\w-]+", latest_sms(app, phone)).group(0)


def test_a_technician_signs_in_by_the_link_in_the_sms(live_app, phone_page):
    page, phone = phone_page, "+972542345679"
    page.set_extra_http_headers({"Accept-Language": "he"})
    page.goto(live_app.config["LIVE_URL"] + "/sign-in/phone")
    page.fill("input[name=phone]", phone)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/sign-in/phone/code$"))
    # A new page, as when the SMS app opens the link in the phone's browser.
    page.context.clear_cookies()
    page.goto(latest_link(live_app, phone))
    assert page.get_attribute("html", "dir") == "rtl"
    assert no_horizontal_overflow(page)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/me$"))
    assert "داریوش رحیمی" in page.inner_text("h1")
    page.goto(latest_link(live_app, phone))  # spent: a clear message, not a sign-in page
    assert page.locator("main .error").count() == 1


def test_hebrew_sign_in_page_is_right_to_left_and_fits_a_small_phone(live_app, phone_page):
    page = phone_page
    page.set_extra_http_headers({"Accept-Language": "he"})
    page.goto(live_app.config["LIVE_URL"] + "/sign-in/phone")
    assert page.get_attribute("html", "dir") == "rtl"
    label = page.locator("label[for=phone]").bounding_box()
    field = page.locator("input[name=phone]").bounding_box()
    assert label["x"] + label["width"] == pytest.approx(field["x"] + field["width"], abs=2)
    assert no_horizontal_overflow(page)
    screenshot(page, "mobile-sign-in-he")


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_language_overflows_a_360_pixel_screen(live_app, phone_page, language):
    page = phone_page
    page.set_extra_http_headers({"Accept-Language": language})
    for path in ("/sign-in/phone", "/sign-in"):
        page.goto(live_app.config["LIVE_URL"] + path)
        assert page.get_attribute("html", "lang") == language
        assert no_horizontal_overflow(page), (language, path)


def test_wrong_code_shows_a_clear_message_in_the_browser(live_app, phone_page):
    page = phone_page
    base = live_app.config["LIVE_URL"]
    page.set_extra_http_headers({"Accept-Language": "en"})
    page.goto(base + "/sign-in/phone")
    page.fill("input[name=phone]", "+48501000003")
    page.click("button[type=submit]")
    code = latest_code(live_app, "+48501000003")
    page.fill("input[name=code]", f"{(int(code) + 1) % 1_000_000:06d}")
    page.click("main button[type=submit]")
    assert "The code is wrong or has expired" in page.inner_text("main")
    assert page.get_attribute("input[name=code]", "aria-invalid") == "true"


def test_channel_manager_signs_in_on_a_desktop_and_finds_a_partner(live_app, desktop_page):
    page = desktop_page
    base = live_app.config["LIVE_URL"]
    page.set_extra_http_headers({"Accept-Language": "en"})
    page.goto(base + "/sign-in")
    page.fill("input[name=email]", "channel@demo.partnerlift.example")
    page.fill("input[name=password]", "partnerlift-demo")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/partners/$"))
    page.fill("input[name=q]", "instal")
    page.click("form.search button")
    # The results are a new page: wait for it (a count right after the click can read the
    # page being left, or one not yet parsed).
    expect(page.locator("tbody tr")).to_have_count(1)
    assert "Instal-Serwis" in page.inner_text("tbody")
    screenshot(page, "desktop-partners")
    with live_app.app_context():
        assert get_session().scalar(
            select(Person.last_sign_in_at).where(Person.email == "channel@demo.partnerlift.example")
        )


def test_partner_manager_sees_staff_in_hebrew_on_a_phone(live_app, phone_page):
    page = phone_page
    base = live_app.config["LIVE_URL"]
    page.goto(base + "/sign-in")
    page.fill("input[name=email]", "noa@hom.example")
    page.fill("input[name=password]", "partnerlift-demo")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/staff$"))
    assert page.get_attribute("html", "dir") == "rtl"
    assert "יוסי כהן" in page.inner_text("table")
    assert "Piotr" not in page.content()
    screenshot(page, "mobile-staff-he")
