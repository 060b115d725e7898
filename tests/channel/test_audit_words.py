"""Histories and rule texts in plain words: no field keys, JSON, state values or codes."""

import html
import re
from datetime import date

import pytest

from channel.models import ProductGroup
from channel.programs import bump_version
from roles.permissions import Role
from tests.builders import add_scheme, approve, login_as, make_program, offer

#: What a partner manager must never read in a history: the code's names for things.
RAW = re.compile(
    r"pay_to_pool|cap_per_person_month|approved_version|company_level"
    r"|[{}\[\]\"]|\bdraft\b|\boffered\b|\bhp-air\b"
)


def _history(body: str) -> str:
    """The text of a page's audit table (the last table on it), as a reader sees it."""
    table = body[body.rindex('<table class="stack">') : body.rindex("</table>")]
    return html.unescape(re.sub(r"<[^>]+>", " ", table))


@pytest.fixture
def program(db, world):
    group = ProductGroup(code="hp-air", name="Air heat pumps", default_points_per_unit=10)
    db.add(group)
    db.flush()
    program = make_program(db, partners=[world.partner_a], cap_per_person_month=5000)
    add_scheme(db, program, ["seller"], ("unit_sold", {"product_group": "hp-air"}))
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
    channel_manager = world.people[Role.CHANNEL_MANAGER]
    offer(db, program, channel_manager)
    seller = world.people[Role.SELLER]
    approve(
        db,
        program,
        world.partner_a,
        world.people[Role.PARTNER_MANAGER],
        excluded_person_ids=[seller.id],
        cap_per_person_month=4000,
        pay_to_pool=True,
    )
    bump_version(db, program, channel_manager.id, "cap_per_person_month", 5000, 4500)
    db.commit()
    return program


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Monthly cap per person", "4,500 points", "into the company pool"]),
        ("pl", ["Miesięczny limit na osobę", "4 500 punktów", "do puli firmy"]),
    ],
)
def test_the_audit_log_reads_in_plain_words(client, db, world, program, language, words):
    reader = world.people[Role.CHANNEL_MANAGER]
    reader.language = language
    db.commit()
    login_as(client, reader)
    history = _history(client.get(f"/programs/{program.id}/audit").get_data(as_text=True))
    assert RAW.findall(history) == []
    assert world.people[Role.SELLER].full_name in history  # left out, and named
    assert world.people[Role.TECHNICIAN].full_name in history  # joined, and named
    for word in words:
        assert word in history.replace("\xa0", " ").replace("\u202f", " ")


CHANGED = {"en": "Changed since you approved", "he": "שינויים מאז האישור שלכם"}
EXPECTED_CHANGE = {"en": "5,000 points → 4,500 points", "he": "5,000 נקודות → 4,500 נקודות"}


@pytest.mark.parametrize("language", ["en", "he"])
def test_a_partner_manager_reads_the_history_and_the_changes_in_their_words(
    client, db, world, program, language
):
    manager = world.people[Role.PARTNER_MANAGER]
    manager.language = language
    db.commit()
    login_as(client, manager)
    body = client.get(f"/partners/{world.partner_a.id}/programs/{program.id}").get_data(
        as_text=True
    )
    assert RAW.findall(_history(body)) == []
    # The program changed after the approval: the change reads as words too.
    changes = body[body.index("</h2>", body.index(CHANGED[language])) :]
    changes = html.unescape(changes[: changes.index("</ul>")]).replace("\u202f", " ")
    assert RAW.findall(changes) == [] and EXPECTED_CHANGE[language] in changes
    # The rule names the product group, never its code.
    assert "Air heat pumps" in body and "hp-air" not in body


def test_tier_reasons_are_said_in_the_readers_language_and_calendar(app):
    from flask_babel import force_locale

    from channel.labels import tier_reason
    from channel.tiers import TierReason, WhyTier

    crossed = WhyTier(
        TierReason.THRESHOLD_MET, {"metric": "volume", "value": "12500.00", "minimum": "10000.00"}
    )
    with app.test_request_context(), force_locale("pl"):
        said = tier_reason(crossed.as_of(date(2026, 11, 2)))
    assert said.replace("\xa0", " ") == (
        "zakupy na dzień 2 lis 2026: Zakupy w ostatnich 12 miesiącach, w EUR: "
        "12 500,00 €, co najmniej 10 000,00 €"
    )
    with app.test_request_context(), force_locale("fa"):
        said = tier_reason(
            WhyTier(
                TierReason.THRESHOLD_MET,
                {"metric": "tenure_months", "value": "25", "minimum": "24"},
            )
        )
    assert "25" not in said and "۲۵" in said
    with app.test_request_context(), force_locale("he"):
        said = tier_reason(WhyTier(TierReason.MANUAL, {"until": "2027-01-31", "note": "Flagship"}))
    assert said.startswith("נקבע ידנית") and "\u2068Flagship\u2069" in said


def test_a_rule_by_tier_names_the_tiers_isolated_only_in_a_right_to_left_sentence(app):
    from flask_babel import force_locale

    from channel.rule_text import describe_rule

    params = {"percent_by_tier": {"gold": "2", "silver": "1.5"}, "default_percent": "1"}
    names = {"gold": "Gold", "silver": "Silver"}
    with app.test_request_context(), force_locale("en"):
        english = describe_rule("volume_rebate", params, "EUR", {}, names)
    assert "Gold: 2%, Silver: 1.5%" in english and "\u2068" not in english
    with app.test_request_context(), force_locale("he"):
        hebrew = describe_rule("volume_rebate", params, "EUR", {}, names)
    assert "\u2068Gold\u2069: 2%" in hebrew and "gold" not in hebrew
