"""Locale and time-zone selection, and the helpers templates use to format for a reader."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache

import flask_babel
import jdatetime
import markupsafe
from babel import Locale, dates, lists, numbers
from flask import current_app, g, has_app_context, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

from core.config import RTL_LANGUAGES
from core.zones import zone_named

#: The session key holding a language picked by a visitor who is not signed in.
SESSION_LANGUAGE_KEY = "language"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and workers speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    user_language = getattr(current_user, "language", None)
    if user_language in languages:
        return user_language
    picked = session.get(SESSION_LANGUAGE_KEY)
    if picked in languages:
        return picked
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


#: Where `force_timezone` keeps its zone for `select_timezone`, on `flask.g`.
_FORCED_ZONE_KEY = "partnerlift_forced_timezone"


def select_timezone() -> str | None:
    """The zone a message is forced into, else the signed-in person's; Babel's default zone
    (BABEL_DEFAULT_TIMEZONE) for visitors, commands and workers."""
    if has_app_context() and (forced := g.get(_FORCED_ZONE_KEY)):
        return forced
    if not has_request_context():
        return None
    name = getattr(current_user, "timezone", None)
    return zone_named(name).key if name else None


@contextmanager
def force_timezone(name: str | None) -> Iterator[None]:
    """Format dates and times in the zone `name` for a while, as `flask_babel.force_locale`
    does the language: a message rendered for its recipient reads in the recipient's zone,
    whoever's request or worker renders it."""
    if not has_app_context():
        yield
        return
    before = g.get(_FORCED_ZONE_KEY)
    setattr(g, _FORCED_ZONE_KEY, zone_named(name).key)
    flask_babel.refresh()  # Flask-Babel caches the zone it selected: select it again
    try:
        yield
    finally:
        setattr(g, _FORCED_ZONE_KEY, before)
        flask_babel.refresh()


def text_direction() -> str:
    return "rtl" if str(get_locale()) in RTL_LANGUAGES else "ltr"


def language_name(code: str) -> str:
    """A language's name written in that language ("Latviešu", "עברית")."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def country_name(code: str) -> str:
    return get_locale().territories.get(code, code)


def country_currency(code: str) -> str | None:
    """The currency a country pays in today (PL → PLN), or None for an unknown country."""
    currencies = numbers.get_territory_currencies(code, tender=True)
    return currencies[0] if currencies else None


def is_currency(code: str) -> bool:
    """Whether `code` is an ISO 4217 currency Babel knows ("PLN", not "zł")."""
    return code in numbers.list_currencies()


#: Locales whose readers expect their own digits (Babel formats with Latin digits only).
_NATIVE_DIGITS = {"fa": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")}


def localize_digits(text: str) -> str:
    return _digits_in(text, str(get_locale()))


def _digits_in(text: str, locale: str) -> str:
    table = _NATIVE_DIGITS.get(locale)
    return text.translate(table) if table else text


def format_number(value) -> str:
    """An integer or Decimal with the reader's separators and digits (1 234, 1,234, ۱٬۲۳۴)."""
    return _number_in(value, str(get_locale()))


@lru_cache(maxsize=16_384, typed=True)
def _number_in(value, locale: str) -> str:
    # Remembered: an import's thousands of messages format the same points and balances
    # again and again, and Babel's formatting costs tens of microseconds each time.
    return _digits_in(
        numbers.format_decimal(value, locale=_parsed(locale), numbering_system="default"), locale
    )


@lru_cache(maxsize=64)
def _parsed(locale: str) -> Locale:
    # Babel parses a locale's name again at every call given a name, not a Locale.
    return Locale.parse(locale)


def format_percent(value) -> str:
    """A percentage given as a number of percent (66.7 → 66.7 %, ٪۶۶٫۷) the reader's way."""
    locale = get_locale()
    text = numbers.format_percent(
        value / 100, "#,##0.#%", locale=locale, numbering_system="default"
    )
    return localize_digits(text)


#: Locales whose readers date by the Solar Hijri calendar (Babel knows only the Gregorian).
_SOLAR_HIJRI = frozenset({"fa"})
#: Babel's format names in the Solar Hijri calendar, as Iranian usage writes them.
_SOLAR_HIJRI_DATES = {
    "short": "%Y/%m/%d",
    "medium": "%-d %B %Y",
    "long": "%-d %B %Y",
    "full": "%A %-d %B %Y",
}


def _solar_hijri(value, format: str, with_time: bool) -> str:
    """A Gregorian date or time as a Persian reader dates it ("۱۰ آذر ۱۴۰۵")."""
    if isinstance(value, datetime):
        value = flask_babel.to_user_timezone(value)
        moment = jdatetime.datetime.fromgregorian(datetime=value, locale="fa_IR")
    else:
        moment = jdatetime.date.fromgregorian(date=value, locale="fa_IR")
    pattern = _SOLAR_HIJRI_DATES.get(format, _SOLAR_HIJRI_DATES["medium"])
    # jdatetime has no "%-d" (day without a leading zero): strip that zero by hand.
    text = moment.strftime(pattern.replace("%-d", "{day}")).replace("{day}", str(moment.day))
    if with_time:
        text += "، " + moment.strftime("%H:%M")
    return localize_digits(text)


def format_date(value, format="medium") -> str:
    if str(get_locale()) in _SOLAR_HIJRI:
        if isinstance(value, datetime):
            value = flask_babel.to_user_timezone(value).date()
        return _solar_hijri(value, format, with_time=False)
    return localize_digits(flask_babel.format_date(value, format))


def format_month(value) -> str:
    """A month and its year the reader's way ("Jan 2026", "2026. g. janv.", "ژانویه ۲۰۲۶").

    A skeleton, not the pattern "LLL": Babel 2.18 caches stand-alone month names across
    locales, so "LLL" answers in whichever language asked first.
    """
    return localize_digits(dates.format_skeleton("yMMM", value, locale=get_locale()))


def format_datetime(value, format="medium") -> str:
    if str(get_locale()) in _SOLAR_HIJRI:
        return _solar_hijri(value, format, with_time=True)
    return localize_digits(flask_babel.format_datetime(value, format))


def plural_text(singular: str, plural: str, count: int, **variables) -> str:
    """`ngettext` whose %(num)s is the count written the reader's way (1 234, ۱٬۲۳۴)."""
    template = flask_babel.get_translations().ungettext(singular, plural, count)
    return template % {**variables, "num": format_number(count)}


def format_list(items) -> str:
    """Items joined the reader's way ("a, b and c", "а, б и в", "الف، ب و ج")."""
    return localize_digits(lists.format_list([str(item) for item in items], locale=get_locale()))


def format_money(amount, currency: str) -> str:
    """A Decimal amount in `currency`, the reader's way (€1,234.50, 1 234,50 zł, ‏1,234.50 ₪,
    € ۱۱٬۱۱۹٫۴۶: the separators of the reader's own digits, as `format_number`)."""
    return localize_digits(
        numbers.format_currency(amount, currency, locale=get_locale(), numbering_system="default")
    )


class left_to_right:  # noqa: N801  (used like a function, in messages and templates)
    """A phone number or code that reads left to right: kept so, between LRI and PDI, when it
    is said in a right-to-left language ("+371 2000 0003" and not "2000 0003 371+").

    Decided when the message is written out, so a lazy message gets its reader's direction."""

    def __init__(self, text):
        self.text = text

    def __str__(self) -> str:
        return f"\u2066{self.text}\u2069" if text_direction() == "rtl" else str(self.text)

    def __html__(self) -> str:
        return str(markupsafe.escape(str(self)))


def isolated(text) -> str:
    """`text` kept in its own direction inside a sentence of the other one (Unicode's first
    strong isolate): a code like "2026-Q4" reads the same in a Hebrew or Persian sentence."""
    return f"\u2068{text}\u2069"


def isolated_in_right_to_left(text) -> str:
    """`text` isolated (as `isolated`) only inside a right-to-left sentence, where a Latin name
    would otherwise take the punctuation around it along; a Latin-script sentence, an SMS
    among them, keeps to its plain characters."""
    return isolated(text) if text_direction() == "rtl" else str(text)
