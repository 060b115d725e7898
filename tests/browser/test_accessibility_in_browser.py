"""Every kind of user's main pages, in all six languages, on a phone (dark theme) and a desktop
(light theme): axe-core finds no serious or critical violation, and nothing overflows sideways."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select, update

from channel.models import PartnerOrganization, Program
from core.config import LANGUAGES
from core.db import get_session
from roles.models import Person
from tests.browser.test_mobile_sign_in import sign_in_by_phone
from tests.browser.test_programs_in_browser import sign_in_by_password

TECHNICIAN = "+972542345679"  # the demo's seller and technician at the Israeli dealer
PARTNER_MANAGER = "noa@hom.example"
ADMIN = "admin@demo.partnerlift.example"

#: The WCAG 2.x A and AA rules, contrast among them (axe's best practices, mostly moderate,
#: would cost a quarter more time on every page).
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    "resultTypes": ["violations"],
}

#: A screen the size of a small phone in the dark theme, and a desktop in the light one:
#: both themes' colours and both layouts are checked.
SCREENS = {
    "phone-dark": {"viewport": {"width": 360, "height": 740}, "color_scheme": "dark"},
    "desktop-light": {"viewport": {"width": 1280, "height": 800}, "color_scheme": "light"},
}
#: The phone, where long words overflow, in every language; the desktop in the longest-worded
#: left-to-right one and in a right-to-left one besides the source language.
SCREEN_LANGUAGES = {"phone-dark": LANGUAGES, "desktop-light": ("en", "lv", "he")}

OVERFLOW = "document.scrollingElement.scrollWidth <= window.innerWidth"

#: How many lines the menu's own links take (those beyond "More" are inside it).
MENU_LINES = """() => new Set([...document.querySelectorAll('.menu > li')]
    .map((item) => Math.round(item.getBoundingClientRect().top))).size"""

AXE_CORE = Axe().axe_script


def demo_ids(app):
    with app.app_context():
        db = get_session()
        partner = db.scalar(
            select(PartnerOrganization.id).where(PartnerOrganization.country == "IL")
        )
        program = db.scalar(select(Program.id).order_by(Program.id))
        return partner, program


def speak(app, language):
    """The signed-in demo people read the next pages in this language."""
    with app.app_context():
        db = get_session()
        db.execute(
            update(Person)
            .where((Person.phone == TECHNICIAN) | Person.email.in_([PARTNER_MANAGER, ADMIN]))
            .values(language=language)
        )
        db.commit()


def problems_on(page, url):
    # Styles are in by then (app.js is deferred behind them); pictures are not awaited.
    page.goto(url, wait_until="domcontentloaded")
    found = []
    if not page.evaluate(OVERFLOW):
        found.append("overflows sideways")
    if page.viewport_size["width"] <= 480 and page.evaluate(MENU_LINES) > 1:
        found.append("the phone menu takes more than one line")
    results = page.evaluate("(options) => axe.run(document, options)", AXE_OPTIONS)
    for violation in results["violations"]:
        if violation["impact"] in ("serious", "critical"):
            nodes = "; ".join(node["target"][0] for node in violation["nodes"][:3])
            found.append(f"{violation['id']} ({violation['impact']}): {nodes}")
    return found


@pytest.mark.parametrize("screen", SCREENS)
def test_main_pages_pass_axe_and_fit_the_screen_in_its_languages(live_app, browser, screen):
    base = live_app.config["LIVE_URL"]
    partner, program = demo_ids(live_app)
    contexts = {
        who: browser.new_context(**SCREENS[screen])
        for who in ("guest", "field", "partner", "channel")
    }
    try:
        for context in contexts.values():
            # axe-core as the package bundles it, in every page before its own scripts (not an
            # eval, so the Content-Security-Policy lets it run), sent to the browser once.
            context.add_init_script(script=AXE_CORE)
        pages = {who: context.new_page() for who, context in contexts.items()}
        sign_in_by_phone(live_app, pages["field"], TECHNICIAN, "en")
        sign_in_by_password(live_app, pages["partner"], PARTNER_MANAGER)
        sign_in_by_password(live_app, pages["channel"], ADMIN)
        visits = {
            "guest": ["/sign-in/phone"],
            "field": ["/me", "/claims/mine", "/claims/new/install", "/rewards"],
            "partner": [
                f"/partners/{partner}/dashboard",
                f"/partners/{partner}/programs/{program}",
            ],
            "channel": ["/dashboard", f"/programs/{program}"],
        }
        report = {}
        for language in SCREEN_LANGUAGES[screen]:
            speak(live_app, language)
            pages["guest"].set_extra_http_headers({"Accept-Language": language})
            for who, paths in visits.items():
                for path in paths:
                    found = problems_on(pages[who], base + path)
                    assert pages[who].get_attribute("html", "lang") == language, (who, path)
                    if found:
                        report[f"{language} {path}"] = found
        assert not report, "\n".join(f"{page}: {found}" for page, found in report.items())
    finally:
        for context in contexts.values():
            context.close()


def test_the_phone_menu_keeps_the_rest_under_more_and_a_desktop_shows_it_all(live_app, browser):
    """Without JavaScript: "More" is a plain <details>."""
    speak(live_app, "pl")
    profile = "nav a[href$='/profile']"
    for width, height in ((360, 740), (1280, 800)):
        context = browser.new_context(
            viewport={"width": width, "height": height}, java_script_enabled=False
        )
        try:
            page = context.new_page()
            sign_in_by_password(live_app, page, PARTNER_MANAGER)
            page.goto(live_app.config["LIVE_URL"] + "/profile")
            more = page.locator("nav summary")
            if width == 360:
                assert more.inner_text().startswith("Więcej")
                assert not page.locator(profile).is_visible()
                more.click()
                assert page.locator(profile).is_visible()
                assert page.evaluate(MENU_LINES) == 1
            else:
                assert not more.is_visible()
                assert page.locator(profile).is_visible()
        finally:
            context.close()
