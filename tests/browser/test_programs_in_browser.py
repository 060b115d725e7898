"""Programs in a real browser: management decides on a phone, staff read their own rules."""

import re

from sqlalchemy import select

from channel.models import Enrollment, ProgramDecision
from core.db import get_session
from roles.models import Person
from tests.browser.test_mobile_sign_in import no_horizontal_overflow, screenshot, sign_in_by_phone


def sign_in_by_password(app, page, email):
    page.goto(app.config["LIVE_URL"] + "/sign-in")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "partnerlift-demo")
    page.click("main button[type=submit]")


def test_hebrew_partner_manager_approves_on_a_phone_for_installers_only(live_app, phone_page):
    page = phone_page
    sign_in_by_password(live_app, page, "noa@hom.example")
    page.click("nav a[href$='/programs']")  # the Programs link, in Hebrew
    page.wait_for_url(re.compile(r"/programs$"))
    page.locator("main h2 a").first.click()
    assert page.get_attribute("html", "dir") == "rtl"
    assert "חום של חורף" in page.inner_text("h1")
    assert no_horizontal_overflow(page)
    page.check("input[name=outcome][value=approve]")
    page.uncheck("input[name=roles][value=seller]")
    screenshot(page, "mobile-decision-he")
    page.click("form button[type=submit] >> nth=-1")
    page.wait_for_load_state()
    with live_app.app_context():
        db = get_session()
        decision = db.scalar(
            select(ProgramDecision)
            .where(ProgramDecision.roles.is_not(None))
            .order_by(ProgramDecision.id.desc())
        )
        assert decision.outcome == "approved" and "seller" not in decision.roles
        enrolled = set(
            db.scalars(
                select(Person.phone)
                .join(Enrollment, Enrollment.person_id == Person.id)
                .where(Person.partner_id == decision.partner_id, Enrollment.ended_at.is_(None))
            )
        )
    assert enrolled == {"+972522345678", "+972542345679"}  # both technicians; no seller-only staff


def test_russian_seller_reads_their_program_and_points_on_a_phone(live_app, phone_page):
    page = phone_page
    sign_in_by_phone(live_app, page, "+37120000003", "ru")
    page.goto(live_app.config["LIVE_URL"] + "/my/programs")
    text = page.inner_text("main")
    assert "Зимнее тепло" in text
    assert "260" in text  # welcome 100 + 6 boilers × 10 + 2 heat pumps × 25 × 2
    assert "50" not in re.findall(r"\b\d+\b", page.inner_text("main ul"))  # no installer rules
    assert no_horizontal_overflow(page)
    screenshot(page, "mobile-my-programs-ru")


def test_channel_manager_sees_decisions_on_a_desktop(live_app, desktop_page):
    page = desktop_page
    page.set_extra_http_headers({"Accept-Language": "en"})
    sign_in_by_password(live_app, page, "admin@demo.partnerlift.example")
    page.goto(live_app.config["LIVE_URL"] + "/programs/")
    page.click("text=Winter heat")
    body = page.inner_text("main")
    assert "Approved version 1" in body and "Installers" in body
    screenshot(page, "desktop-program")
