"""The program wizard in a real browser: a scheme keeps what was typed when its rule kind
changes, with JavaScript (the rule's inputs swap in place) and without (the form is sent and
shown again), and reads the scheme back in words as it is typed (or on asking, without)."""

import pytest
from sqlalchemy import select

from channel.models import Program
from channel.scheme_models import Scheme
from core.db import get_session
from tests.browser.test_programs_in_browser import sign_in_by_password


@pytest.fixture(params=["javascript", "no-javascript"])
def manager_page(request, browser, live_app):
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        java_script_enabled=request.param == "javascript",
        extra_http_headers={"Accept-Language": "en"},
    )
    page = context.new_page()
    sign_in_by_password(live_app, page, "admin@demo.partnerlift.example")  # reads English
    page.wait_for_load_state()
    yield page, request.param == "javascript"
    context.close()


def winter_heat(app) -> int:
    with app.app_context():
        return get_session().scalar(select(Program.id).where(Program.name == "Winter heat"))


def choose(page, kind: str) -> None:
    """Choose a kind of rule, and wait until its inputs are there (sent, or swapped in)."""
    page.click(f"button[name=choose_kind][value='{kind}']")
    page.wait_for_selector(f"input[name=kind][value='{kind}']", state="attached")


def test_the_scheme_editor_keeps_typed_values_when_the_rule_kind_changes(live_app, manager_page):
    page, scripted = manager_page
    program_id = winter_heat(live_app)
    editor = f"{live_app.config['LIVE_URL']}/programs/{program_id}/schemes/new"
    page.goto(editor)
    name = f"Referrals ({'with' if scripted else 'without'} JavaScript)"
    page.fill("input[name=name]", name)
    role = "engineer" if scripted else "procurement"  # each its own referral rule
    page.check(f"input[name=roles][value={role}]")
    if scripted:
        page.evaluate("window.stillThisPage = true")

    choose(page, "training")
    page.fill("input[name=points]", "40")
    choose(page, "")  # "another kind"
    choose(page, "referral")

    assert page.input_value("input[name=name]") == name
    assert page.is_checked(f"input[name=roles][value={role}]")
    assert not page.is_checked("input[name=roles][value=seller]")
    assert page.input_value("input[name=points]") == "40"  # the new kind's inputs, as typed
    assert page.input_value("input[name=kind]") == "referral"
    if scripted:  # swapped in place: the page was never reloaded
        assert page.evaluate("window.stillThisPage") is True
    assert page.locator(".error").count() == 0

    # The scheme in words follows the typing (with JavaScript), or the preview button.
    page.fill("input[name=points]", "45")
    if not scripted:
        page.click("button[name=preview]")
    page.locator("#rule-preview").get_by_text("45 points per referred partner").wait_for()
    assert page.input_value("input[name=name]") == name
    if scripted:
        assert page.evaluate("window.stillThisPage") is True

    page.click("main form[data-rule-kinds] > button[type=submit]:not([hidden])")
    page.wait_for_load_state()
    with live_app.app_context():
        saved = get_session().scalar(select(Scheme).where(Scheme.name == name))
        assert saved is not None and [r.value for r in saved.roles] == [role]
        assert [(r.kind, str(r.params["points"])) for r in saved.rules] == [("referral", "45")]
