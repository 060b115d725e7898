"""Dashboard charts in a real browser, right to left: laid out from the right, text as written."""

import unicodedata

import pytest
from sqlalchemy import update

from core.db import get_session
from roles.models import Person
from tests.browser.test_mobile_sign_in import no_horizontal_overflow, screenshot
from tests.browser.test_programs_in_browser import sign_in_by_password

ADMIN = "admin@demo.partnerlift.example"

#: Per chart text: whether any box from it to the page is transformed, the x-scale the screen
#: applies to it, and where each of its characters is drawn.
READ_TEXTS = """
() => [...document.querySelectorAll('.chart svg text')].map((text) => {
  const transformed = [];
  for (let node = text; node && node.nodeType === 1; node = node.parentNode) {
    const transform = getComputedStyle(node).transform;
    if (transform && transform !== 'none') transformed.push(node.tagName + ' ' + transform);
  }
  // The screen x of each character's middle, in the text's logical order.
  const xs = [];
  const range = document.createRange();
  for (let at = 0; at < text.firstChild.length; ) {
    const size = text.textContent.codePointAt(at) > 0xffff ? 2 : 1;
    range.setStart(text.firstChild, at);
    range.setEnd(text.firstChild, at + size);
    const box = range.getBoundingClientRect();
    xs.push(box.left + box.width / 2);
    at += size;
  }
  return {
    chart: text.closest('figure').id,
    text: text.textContent,
    transformed,
    scale: text.getScreenCTM().a,
    xs,
  };
})
"""

#: The engagement chart's months in time order, at their screen x.
READ_MONTHS = """
() => [...document.querySelectorAll('#chart-engagement svg text:not(.value)')].map(
  (month) => month.getBoundingClientRect().left + month.getBoundingClientRect().width / 2)
"""

#: Per bar of a bar chart: its screen edges and those of its label (the text before it).
READ_BARS = """
(id) => [...document.querySelectorAll('#' + id + ' svg rect')].map((bar) => {
  const label = bar.previousElementSibling.getBoundingClientRect();
  const box = bar.getBoundingClientRect();
  return {left: box.left, right: box.right, label_left: label.left};
})
"""


def _strong_rtl(text):
    """Whether `text` holds a letter of a right-to-left script (Hebrew, Arabic, Persian)."""
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


@pytest.mark.parametrize("language", ["he", "fa"])
def test_right_to_left_dashboard_charts_read_right_to_left_with_unmirrored_text(
    live_app, desktop_page, language
):
    with live_app.app_context():
        db = get_session()
        db.execute(update(Person).where(Person.email == ADMIN).values(language=language))
        db.commit()
    page = desktop_page
    sign_in_by_password(live_app, page, ADMIN)
    page.goto(live_app.config["LIVE_URL"] + "/dashboard")
    assert page.get_attribute("html", "dir") == "rtl"

    texts = page.evaluate(READ_TEXTS)
    assert {t["chart"] for t in texts} >= {"chart-engagement", "chart-role", "chart-issued"}
    for text in texts:
        assert text["transformed"] == [], text
        assert text["scale"] > 0, text
    # A number reads as written ("50%", "۵۰٪", never "%05"): its digits run left to right, and
    # in Hebrew its European digits keep the sign at their right, as a Hebrew reader writes it.
    percents = [t for t in texts if t["text"].endswith(("%", "٪")) and len(t["text"]) > 2]
    assert percents
    for text in percents:
        digits = [x for ch, x in zip(text["text"], text["xs"], strict=True) if ch.isdigit()]
        assert len(digits) >= 2 and digits == sorted(digits), text
        if language == "he":
            assert text["xs"][-1] == max(text["xs"]), text
    # A word in the page's script reads from the right: its letters run right to left.
    words = [t for t in texts if _strong_rtl(t["text"]) and len(t["text"]) > 1]
    assert words
    for text in words:
        letters = [x for ch, x in zip(text["text"], text["xs"], strict=True) if _strong_rtl(ch)]
        assert letters == sorted(letters, reverse=True), text

    # Time runs from the right: the first month is the rightmost.
    months = page.evaluate(READ_MONTHS)
    assert len(months) >= 2 and months == sorted(months, reverse=True)
    # Each bar starts at its label, on the right, and grows leftwards.
    bars = page.evaluate(READ_BARS, "chart-role")
    assert bars
    for bar in bars:
        assert bar["right"] <= bar["label_left"] + 1, bar
    assert no_horizontal_overflow(page)
    screenshot(page, f"desktop-dashboard-{language}")
