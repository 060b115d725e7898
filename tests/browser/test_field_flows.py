"""A field technician's minute on a phone: redeem a reward, and every control is reachable."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from channel.postings import Line, person_account, post
from channel.rewards import Redemption, Reward
from core.config import LANGUAGES
from core.db import get_session
from roles.models import Person
from tests.browser.test_mobile_sign_in import (
    no_horizontal_overflow,
    screenshot,
    sign_in_by_phone,
)
from tests.browser.test_offline import big_png

PLATE = big_png(640, 480)

TECHNICIAN = "+972542345679"  # the demo's Persian technician, with points to spend

#: Buttons, fields and button-like links, each at least 44 px tall (WCAG 2.5.5).
TOUCH_TARGETS = (
    "main button, main .button, main select, main textarea, main input:not([type=hidden])"
    ":not([type=checkbox]):not([type=radio])"
)


def redemptions_of(app, phone):
    with app.app_context():
        db = get_session()
        person = db.scalar(select(Person).where(Person.phone == phone))
        return db.scalars(select(Redemption).where(Redemption.person_id == person.id)).all()


def give_points(app, phone, points):
    with app.app_context():
        db = get_session()
        person = db.scalar(select(Person).where(Person.phone == phone))
        line = Line(
            account=person_account(person.id),
            points=points,
            kind="earn",
            partner_id=person.partner_id,
            person_id=person.id,
        )
        post(db, f"browser-test:{person.id}:{points}", [line])
        db.commit()


def test_a_technician_confirms_a_redemption_and_reads_it_in_the_points_history(
    live_app, phone_page
):
    page, base = phone_page, live_app.config["LIVE_URL"]
    give_points(live_app, TECHNICIAN, 700)
    sign_in_by_phone(live_app, page, TECHNICIAN, "fa")
    before = len(redemptions_of(live_app, TECHNICIAN))
    page.goto(base + "/rewards")
    assert no_horizontal_overflow(page)
    # The first reward the technician can afford: its button asks first and spends nothing.
    page.locator("main a.button[href$='/redeem']").first.click()
    page.wait_for_url(re.compile(r"/rewards/\d+/redeem$"))
    assert len(redemptions_of(live_app, TECHNICIAN)) == before
    assert no_horizontal_overflow(page)
    screenshot(page, "redeem-confirm-fa")
    if page.locator("main textarea").count():
        page.fill("main textarea", "تهران، خیابان آزادی ۱")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/rewards/$"))
    mine = redemptions_of(live_app, TECHNICIAN)
    assert len(mine) == before + 1
    assert page.locator(".flash").count() >= 1
    # The history says where the points went, newest first, in Persian, on a small screen.
    page.goto(base + "/me/points")
    assert page.get_attribute("html", "dir") == "rtl"
    assert no_horizontal_overflow(page)
    newest = page.locator("main ol.ledger > li").first
    with live_app.app_context():
        name = get_session().get(Reward, mine[-1].reward_id).text_in("fa")[0]
    assert name in newest.inner_text()
    assert newest.locator(".points bdi").inner_text().startswith("−")
    screenshot(page, "points-history-fa")


def test_every_control_has_a_label_and_a_thumb_sized_target(live_app, phone_page):
    page, base = phone_page, live_app.config["LIVE_URL"]
    sign_in_by_phone(live_app, page, TECHNICIAN, "he")
    for path in (
        "/me",
        "/me/points",
        "/claims/new/install",
        "/claims/new/sale",
        "/rewards",
        "/profile",
    ):
        page.goto(base + path)
        small = page.evaluate(
            """(selector) => [...document.querySelectorAll(selector)]
                .filter((el) => el.offsetParent !== null)
                .filter((el) => el.getBoundingClientRect().height < 44)
                .map((el) => el.outerHTML.slice(0, 80))""",
            TOUCH_TARGETS,
        )
        assert small == [], (path, small)
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('main input, main select, main textarea')]
                .filter((el) => el.type !== 'hidden')
                .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                .map((el) => el.outerHTML.slice(0, 80))"""
        )
        assert unlabelled == [], (path, unlabelled)
        assert no_horizontal_overflow(page), path


def test_a_seller_reads_an_article_passes_its_quiz_and_sees_the_points(live_app, phone_page):
    page, base, phone = phone_page, live_app.config["LIVE_URL"], "+37120000003"
    sign_in_by_phone(live_app, page, phone, "ru")  # Дмитрий reads Russian
    before = int(page.inner_text("[data-balance]").replace("\u202f", "").replace(" ", ""))
    page.goto(base + "/learn/")
    page.click("text=Тепловые насосы в сильный мороз")
    assert page.locator("article h2").inner_text() == "Скажите клиенту"
    page.get_by_label("−25 °C").check()
    page.get_by_label("10 см").check()  # wrong
    page.click("main form button[type=submit]")
    expect(page.locator(".right-answer")).to_have_count(1)  # the right answer is shown
    page.get_by_label("30 см").check()
    page.click("main form button[type=submit]")
    assert "Вы заработали 30" in page.inner_text(".flash-success")
    page.goto(base + "/me")
    after = int(page.inner_text("[data-balance]").replace("\u202f", "").replace(" ", ""))
    assert after == before + 30


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_field_page_overflows_a_360_pixel_screen_in_any_language(live_app, phone_page, language):
    page, base = phone_page, live_app.config["LIVE_URL"]
    sign_in_by_phone(live_app, page, TECHNICIAN, "fa")
    page.goto(base + "/profile")
    page.select_option("select[name=language]", language)
    page.click("main form button[type=submit] >> nth=0")
    for path in (
        "/me",
        "/claims/new/install",
        "/claims/mine",
        "/me/points",
        "/rewards",
        "/learn/",
        "/messaging/inbox",
    ):
        page.goto(base + path)
        assert page.get_attribute("html", "lang") == language
        expected = "rtl" if language in ("he", "fa") else "ltr"
        assert page.get_attribute("html", "dir") == expected
        assert no_horizontal_overflow(page), (language, path)


def test_the_core_flows_work_with_javascript_off(live_app, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, java_script_enabled=False)
    page, base = context.new_page(), live_app.config["LIVE_URL"]
    try:
        sign_in_by_phone(live_app, page, "+48501000003", "pl")  # Tomasz, technician
        assert page.locator("[data-balance]").count() == 1
        page.goto(base + "/claims/new/install")
        page.fill("input[name=serial]", "NOJS-0001")
        page.set_input_files(
            "input[name=photo]",
            files=[{"name": "plate.png", "mimeType": "image/png", "buffer": PLATE}],
        )
        page.click("main form button[type=submit]")
        page.wait_for_url(re.compile(r"/claims/mine$"))
        assert "NOJS-0001" in page.inner_text("main")
        page.goto(base + "/rewards")
        assert page.locator("main h1").count() == 1
        # Redeeming asks first and confirms with a plain form.
        give_points(live_app, "+48501000003", 5000)
        before = len(redemptions_of(live_app, "+48501000003"))
        page.goto(base + "/rewards")
        page.locator("main a.button[href$='/redeem']").first.click()
        page.wait_for_url(re.compile(r"/rewards/\d+/redeem$"))
        if page.locator("main textarea").count():
            page.fill("main textarea", "ul. Długa 1, Gdańsk")
        page.click("main form button[type=submit]")
        page.wait_for_url(re.compile(r"/rewards/$"))
        assert len(redemptions_of(live_app, "+48501000003")) == before + 1
    finally:
        context.close()


def test_no_page_breaks_the_content_security_policy(live_app, phone_page):
    page, base = phone_page, live_app.config["LIVE_URL"]
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_in_by_phone(live_app, page, TECHNICIAN, "he")
    for path in (
        "/me",
        "/me/points",
        "/claims/new/install",
        "/rewards",
        "/learn/",
        "/profile",
        "/messaging/inbox",
    ):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
    assert refused == []
