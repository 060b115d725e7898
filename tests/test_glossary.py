"""Every catalog speaks its glossary (translations/glossary.toml): one word per idea, the
wrong words nowhere, and a screen named in a sentence as that screen calls itself."""

import re
import tomllib

import pytest
from babel.messages.pofile import read_po

from tests.conftest import ROOT

GLOSSARY = tomllib.loads((ROOT / "translations" / "glossary.toml").read_text(encoding="utf-8"))
LANGUAGES = ("fa", "he", "lv", "pl", "ru")


def catalog(language):
    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def translations(message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else list(message.string)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_catalog_uses_a_word_its_glossary_forbids(language):
    found = [
        (pattern, text)
        for message in catalog(language)
        if message.id
        for text in translations(message)
        for pattern in GLOSSARY[language]["forbidden"]
        if re.search(pattern, text)
    ]
    assert found == []


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("term", sorted(GLOSSARY["anchors"]))
def test_each_term_is_the_glossarys_word(language, term):
    messages = catalog(language)
    stem = GLOSSARY[language][term]["stem"]
    wrong = [
        (message_id, text)
        for message_id in GLOSSARY["anchors"][term]
        for text in translations(messages.get(message_id))
        if not re.search(stem, text, re.IGNORECASE)
    ]
    assert wrong == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_sentence_names_a_screen_by_the_screens_own_title(language):
    messages = catalog(language)
    for screen in GLOSSARY["screens"]:
        title = messages.get(screen["title"]).string
        for sentence in screen["sentences"]:
            assert title in messages.get(sentence).string


def test_the_glossary_catches_the_words_the_review_found():
    """The glossary refuses the words a native reader stopped at (it is no empty list)."""
    assert any(re.search(p, "התביעה שלך אושרה") for p in GLOSSARY["he"]["forbidden"])
    assert any(re.search(p, "ادعا برای هر نفر") for p in GLOSSARY["fa"]["forbidden"])
    assert any(re.search(p, "sprzedałeś ostatnio") for p in GLOSSARY["pl"]["forbidden"])
    assert not any(re.search(p, "монтажник") for p in GLOSSARY["ru"]["forbidden"])


def test_the_glossary_keeps_each_language_to_its_chosen_address():
    """Hebrew speaks in the plural (the singular is refused, the plural and the impersonal
    pass); Polish speaks without a gender (no past tense of the second person)."""
    hebrew, polish = GLOSSARY["he"], GLOSSARY["pl"]
    assert "plural" in hebrew["address"] and "gender" in polish["address"]
    for singular in ("הנקודות שלך", "אישרת את גרסה 2", "בחר תפקיד", "היכנס עם הטלפון"):
        assert any(re.search(p, singular) for p in hebrew["forbidden"]), singular
    for fine in ("הנקודות שלכם", "אישרתם את גרסה 2", "יש לבחור תפקיד", "תאריך", "המשך"):
        assert not any(re.search(p, fine) for p in hebrew["forbidden"]), fine
    for gendered in ("Montowałaś ostatnio?", "sprzedałeś"):
        assert any(re.search(p, gendered) for p in polish["forbidden"]), gendered
    assert not any(re.search(p, "Zgłoszono montaż. Było łatwo.") for p in polish["forbidden"])
