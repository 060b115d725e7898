"""The SMS command parser: every word in every language, folded the same, never raising."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.config import LANGUAGES
from messaging.commands import (
    COMMANDS,
    COMMON_WORDS,
    LOCAL_WORDS,
    ascii_digits,
    first_token,
    fold,
    parse,
    parse_language,
)

ALL_WORDS = [(name, word, None) for name, words in COMMON_WORDS.items() for word in words] + [
    (name, word, language)
    for language, table in LOCAL_WORDS.items()
    for name, words in table.items()
    for word in words
]


@pytest.mark.parametrize(("name", "word", "language"), ALL_WORDS, ids=lambda v: str(v))
def test_every_word_names_its_command_in_any_case(name, word, language):
    for variant in (word, word.lower(), word.title(), f"  {word}!  "):
        command = parse(variant)
        assert command.name == name, variant
        assert command.language in (language, None)


@pytest.mark.parametrize("language", sorted(LOCAL_WORDS))
def test_every_language_has_a_word_for_every_command(language):
    assert set(LOCAL_WORDS[language]) == set(COMMANDS)


@pytest.mark.parametrize(
    ("body", "name", "argument", "language"),
    [
        ("BAL", "BAL", "", None),
        ("bilancē", "BAL", "", "lv"),
        ("Palidziba", "HELP", "", "lv"),
        ("apturet", "STOP", "", "lv"),
        ("SAKT", "START", "", "lv"),
        ("valoda ru", "LANG", "ru", "lv"),
        ("pieteikt  SN-1 uz jumta", "CLAIM", "SN-1 uz jumta", "lv"),
        ("kods", "CODE", "", "lv"),
        ("баланс", "BAL", "", "ru"),
        ("Помощь", "HELP", "", "ru"),
        ("стоп", "STOP", "", "ru"),
        ("старт", "START", "", "ru"),
        ("ЯЗЫК en", "LANG", "en", "ru"),
        ("Заявка\tAB-1", "CLAIM", "AB-1", "ru"),
        ("код", "CODE", "", "ru"),
        ("Zgłoś 7", "CLAIM", "7", "pl"),
        ("zglos 7", "CLAIM", "7", "pl"),
        ("JEZYK", "LANG", "", "pl"),
        ("עָזְרָה", "HELP", "", "he"),  # with niqqud
        ("كد", "CODE", "", "fa"),  # Arabic kaf for Persian keheh
        ("stop.", "STOP", "", None),
        ("/help", "HELP", "", None),
        ("?", "HELP", "", None),
        ("STOP\nplease", "STOP", "please", None),
    ],
)
def test_known_bodies(body, name, argument, language):
    assert parse(body) == parse(body)  # pure
    command = parse(body)
    assert (command.name, command.argument, command.language) == (name, argument, language)


@pytest.mark.parametrize("body", ["", "   ", "hello", "BALANCEX", "STOPP", "123", "🙂", "\x00"])
def test_anything_else_is_no_command(body):
    assert parse(body).name is None


def test_fold_strips_accents_case_and_script_variants():
    assert fold("PALĪDZĪBA") == fold("palidziba") == "palidziba"
    assert fold("ZGŁOŚ") == "zglos"
    assert fold("Ёлка") == fold("елка")
    assert fold("۱۲۳") == "123"
    assert fold("\u200fSTOP\u200e") == "stop"  # direction marks


@pytest.mark.parametrize(
    ("argument", "code"),
    [
        ("lv", "lv"),
        ("LV", "lv"),
        ("latviešu", "lv"),
        ("Latvian", "lv"),
        ("латышский", "lv"),
        ("русский", "ru"),
        ("Russian", "ru"),
        ("polski", "pl"),
        ("עברית", "he"),
        ("فارسی", "fa"),
        ("en please", "en"),
        ("xx", None),
        ("", None),
    ],
)
def test_languages_by_code_or_name(argument, code):
    assert parse_language(argument, LANGUAGES) == code


def test_serials_take_the_first_word_with_ascii_digits():
    assert first_token("۱۲۳-AB on the roof") == "123-AB"
    assert first_token("  'SN-9'.  ") == "SN-9"
    assert first_token("") == ""
    assert ascii_digits("٤٥ x") == "45 x"


@given(st.text())
def test_parsing_never_raises(body):
    command = parse(body)
    assert command.name in (*COMMANDS, None)
    parse_language(command.argument, LANGUAGES)
    first_token(command.argument)


@given(st.sampled_from(ALL_WORDS), st.text(alphabet=st.characters(categories=["Zs"]), min_size=1))
def test_a_word_followed_by_anything_keeps_its_command(entry, space):
    name, word, _language = entry
    assert parse(word + space + "x y").name == name
