"""Phone numbers as people type them: read in a country, stored as E.164, with an example.

A number written with its country code (+48 …) reads the same everywhere. A number written
as it is dialled at home (052-234-5678) is read in the country it is most likely from: the
person's partner country where it is known (staff forms, imports), else the page language's
country (`LANGUAGE_COUNTRIES`), else the one the reader chooses; with none of these it is
refused with a request to choose a country or write the code.
"""

from collections.abc import Iterable

import phonenumbers
from babel import Locale, UnknownLocaleError
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from core.i18n import isolated, left_to_right

#: The country a page in each language reads local numbers in. Russian is spoken in several
#: of the platform's countries (Latvia, Israel, Russia…), so its reader chooses; English is
#: nobody's country here and falls back to the deployment's DEFAULT_PHONE_REGION.
LANGUAGE_COUNTRIES = {"he": "IL", "fa": "IR", "lv": "LV", "pl": "PL"}


def page_country(language: str | None, default: str | None) -> str | None:
    """The country whose local numbers a page in `language` reads, or None: let them choose."""
    if language in LANGUAGE_COUNTRIES:
        return LANGUAGE_COUNTRIES[language]
    return default if language == "en" else None


def example_phone(country: str) -> str | None:
    """A mobile number of `country` as it is dialled there ("050-234-5678" in Israel)."""
    number = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    if number is None:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def country_name(country: str) -> str:
    """`country`'s name in the current page's language ("ישראל"), or its code."""
    try:
        locale = Locale.parse(str(get_locale() or "en"))
    except (UnknownLocaleError, ValueError):
        locale = Locale("en")
    return locale.territories.get(country, country)


def country_choices(countries: Iterable[str]) -> list[tuple[str, str, dict]]:
    """(code, name, option attributes) of `countries`, by name in the page's language; each
    option carries its example number (`data-example`) for the field's placeholder."""
    options = [
        (code, country_name(code), {"data-example": example_phone(code) or ""})
        for code in set(countries)
        if code in phonenumbers.SUPPORTED_REGIONS
    ]
    return sorted(options, key=lambda option: option[1])


def normalize_phone(raw: str, country: str | None) -> str:
    """E.164 form of a phone number, reading local numbers in `country` (None: only numbers
    with their country code are read); ValueError with the message for the person if bad."""
    raw = (raw or "").strip()
    if not raw:
        raise ValueError(_l("Enter a phone number."))
    international = raw.startswith(("+", "00"))
    if country is None and not raw.startswith("+"):
        raise ValueError(
            _l(
                "Choose the country of “%(phone)s”, or write it with its country code (+…).",
                phone=left_to_right(raw),
            )
        )
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    example = example_phone(country) if country else None
    if international or example is None:
        raise ValueError(
            _l(
                "“%(phone)s” is not a valid phone number. Check the digits and the country code.",
                phone=left_to_right(raw),
            )
        )
    raise ValueError(
        _l(
            "“%(phone)s” is not a valid phone number in %(country)s. Check the digits (a "
            "mobile number there looks like %(example)s), or write it with its country code.",
            phone=left_to_right(raw),
            country=country_name(country),
            # Isolated: in a right-to-left sentence its groups would otherwise run backwards.
            example=isolated(example),
        )
    )


def format_phone(e164: str) -> str:
    """A stored E.164 number as people read it: "+371 20 000 001"."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
