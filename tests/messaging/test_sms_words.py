"""An SMS in the reader's words: it teaches the command words that reader texts back, and a
Hebrew or Persian one opens in its own script whatever Latin names it carries."""

import unicodedata
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from messaging.commands import BALANCE, CLAIM, HELP, parse
from messaging.compose import render_for
from tests.builders import make_person

LANGUAGES = ("en", "fa", "he", "lv", "pl", "ru")
#: A program, a partner and a person with Latin names, as a Hebrew reader's SMS may carry.
LATIN = SimpleNamespace(program="Winter heat", partner=SimpleNamespace(name="Alpha Heating SIA"))


def commands_taught(body: str) -> set[str]:
    return {parse(word).name for word in body.replace(",", " ").replace(".", " ").split()}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("role", "taught"),
    [("technician", {BALANCE, CLAIM}), ("seller", {BALANCE, HELP}), ("procurement", {BALANCE})],
)
def test_the_welcome_sms_teaches_words_the_reader_can_text_back(
    app, db, world, language, role, taught
):
    person = make_person(db, world.partner_a, [role], language=language, full_name="Ilze Ozola")
    with app.test_request_context():
        body = render_for(person, "welcome", "sms").body
    assert taught <= commands_taught(body), body
    if language != "en":
        # The English words work everywhere, but a reader is taught their own.
        assert not {"BAL", "CLAIM", "HELP"} & set(body.replace(".", " ").split()), body


def first_strong_direction(text: str) -> str | None:
    """The direction a phone gives the message: that of its first strong letter, skipping
    what isolates (FSI … PDI) hold, as the Unicode bidi algorithm does."""
    depth = 0
    for char in text:
        if char in "\u2066\u2067\u2068":
            depth += 1
        elif char == "\u2069":
            depth = max(depth - 1, 0)
        elif depth == 0:
            kind = unicodedata.bidirectional(char)
            if kind == "L":
                return "ltr"
            if kind in ("R", "AL"):
                return "rtl"
    return None


def _claim():
    return SimpleNamespace(
        serial="AB12345", invoice_number=None, occurred_on=date(2026, 12, 1), rejection_reason="x"
    )


#: (kind, role, context) of every SMS field staff and managers get.
MESSAGES = [
    ("welcome", "technician", {}),
    ("welcome", "seller", {}),
    ("welcome", "procurement", {}),
    ("welcome", "partner_manager", {}),
    ("enrolled", "technician", {"program_name": LATIN.program, "rule": None}),
    ("inactive", "technician", {"program_name": LATIN.program}),
    ("inactive", "seller", {"program_name": LATIN.program, "url": "https://x.example/c"}),
    ("inactive", "procurement", {"program_name": LATIN.program}),
    ("inactive", "partner_manager", {"program_name": LATIN.program}),
    ("claim_approved", "technician", {"claim": _claim(), "points": 50, "available": 200}),
    ("claim_rejected", "technician", {"claim": _claim()}),
    ("claim_rejected", "procurement", {"claim": _claim()}),
    ("points_earned", "technician", {"points": 50, "available": 200, "pending": 0, "tip": None}),
    (
        "points_expiring",
        "technician",
        {"points": 50, "expires_on": datetime(2026, 12, 20, tzinfo=UTC), "url": "https://x.ex/r"},
    ),
    ("sign_in_code", "technician", {"code": "123456", "link": None}),
    ("sign_in_code", "technician", {"code": "123456", "link": "https://x.example/s/abc"}),
    ("tier_reached", "technician", {"partner": LATIN.partner, "tier_name": "Gold"}),
    ("tier_reached", "partner_manager", {"partner": LATIN.partner, "tier_name": "Gold"}),
    (
        "approval_request",
        "partner_manager",
        {"program_name": LATIN.program, "partner": LATIN.partner, "url": "https://x.example/d"},
    ),
    (
        "approval_reminder",
        "partner_manager",
        {"program_name": LATIN.program, "partner": LATIN.partner, "url": "https://x.example/d"},
    ),
    (
        "leaderboard",
        "technician",
        {"rank": 2, "of": 9, "program": SimpleNamespace(name=LATIN.program)},
    ),
]


@pytest.mark.parametrize("language", ["he", "fa"])
@pytest.mark.parametrize(("kind", "role", "context"), MESSAGES)
def test_a_right_to_left_sms_opens_in_its_own_script(app, db, world, language, kind, role, context):
    person = make_person(db, world.partner_a, [role], language=language, full_name="Ilze Ozola")
    with app.test_request_context():
        body = render_for(person, kind, "sms", **context).body
    assert first_strong_direction(body) == "rtl", body
