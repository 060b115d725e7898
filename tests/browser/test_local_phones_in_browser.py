"""The demo's field staff sign in on a phone with their number as they dial it at home."""

import re

import pytest

from tests.browser.test_mobile_sign_in import latest_code, no_horizontal_overflow, screenshot

#: (page language, country chosen or None for the page's own, number as typed, the person's
#: number, the example the field shows)
DEMO_PEOPLE = [
    ("he", None, "052-234-5678", "+972522345678", "050-234-5678"),  # יוסי כהן
    ("pl", None, "501 000 003", "+48501000003", "512 345 678"),  # Tomasz Nowak
    ("lv", None, "2000 0004", "+37120000004", "21 234 567"),  # Līga Bērziņa
    ("ru", "LV", "2000 0003", "+37120000003", "21 234 567"),  # Дмитрий Соколов, in Latvia
    ("fa", "IL", "۰۵۴-۲۳۴-۵۶۷۹", "+972542345679", "050-234-5678"),  # داریوش رحیمی, in Israel
]


@pytest.mark.parametrize(("language", "country", "typed", "phone", "example"), DEMO_PEOPLE)
def test_a_demo_person_signs_in_with_the_number_as_dialled_at_home(
    live_app, phone_page, language, country, typed, phone, example
):
    page = phone_page
    page.set_extra_http_headers({"Accept-Language": language})
    page.goto(live_app.config["LIVE_URL"] + "/sign-in/phone")
    if country:
        page.select_option("select[name=country]", country)
    assert page.get_attribute("input[name=phone]", "placeholder") == example
    assert example in page.inner_text("#phone-hint")
    page.fill("input[name=phone]", typed)
    assert no_horizontal_overflow(page)
    screenshot(page, f"mobile-sign-in-phone-{language}")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/sign-in/phone/code$"))
    page.fill("input[name=code]", latest_code(live_app, phone))
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/me$"))


def test_a_wrong_number_is_refused_with_the_countrys_example(live_app, phone_page):
    page = phone_page
    page.set_extra_http_headers({"Accept-Language": "en"})
    page.goto(live_app.config["LIVE_URL"] + "/sign-in/phone")
    page.select_option("select[name=country]", "PL")
    page.fill("input[name=phone]", "501 000")
    page.click("main button[type=submit]")
    error = page.inner_text(".field .error")
    assert "“501 000” is not a valid phone number in Poland" in error
    assert "512 345 678" in error
    assert page.get_attribute("input[name=phone]", "placeholder") == "512 345 678"
