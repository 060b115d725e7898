"""Rebates in a real browser: a partner manager reads what purchases earned, on a phone in
Hebrew; the channel manager sees the closed periods on a desktop."""

import re

from tests.browser.test_mobile_sign_in import no_horizontal_overflow, screenshot
from tests.browser.test_programs_in_browser import sign_in_by_password


def test_hebrew_partner_manager_reads_rebates_and_a_statement_on_a_phone(live_app, phone_page):
    page = phone_page
    sign_in_by_password(live_app, page, "noa@hom.example")
    page.goto(live_app.config["LIVE_URL"] + "/rebates/mine")
    assert page.get_attribute("html", "dir") == "rtl"
    main = page.inner_text("main")
    # The program by its Hebrew name ("Sell-in rebates"); earned so far, in the program currency.
    assert "הנחות רכש" in main and "Sell-in rebates" not in main and "€" in main
    assert no_horizontal_overflow(page)
    screenshot(page, "mobile-rebates-he")
    page.locator("main ul a").first.click()
    page.wait_for_url(re.compile(r"/rebates/statements/\d+$"))
    assert "RB-" in page.inner_text("h1")
    with page.expect_download() as download:
        page.click("a[href$='.pdf']")
    assert download.value.suggested_filename.endswith(".pdf")


def test_channel_manager_sees_closed_periods_on_a_desktop(live_app, desktop_page):
    page = desktop_page
    page.set_extra_http_headers({"Accept-Language": "en"})
    sign_in_by_password(live_app, page, "admin@demo.partnerlift.example")
    page.goto(live_app.config["LIVE_URL"] + "/rebates")
    assert "Closed periods" in page.inner_text("main")
    page.locator("main table a").first.click()
    page.wait_for_url(re.compile(r"/rebates/\d{4}-"))
    assert "Credit memos for the ERP" in page.inner_text("main")
    screenshot(page, "desktop-rebates")
