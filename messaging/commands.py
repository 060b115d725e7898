"""The SMS command words people text us, in their languages: a pure parser, no Flask.

A message is read as a command word and an argument ("CLAIM AB-123", "валода lv"). Words
are compared after folding: accents stripped, case folded, Arabic-script letter variants
unified, digits of every script made ASCII, so "Bilance", "BILANCE" and "bilancē" are one
word. Words of one language also say which language to answer in when the number is unknown.
"""

import unicodedata
from dataclasses import dataclass
from functools import cache

from babel import Locale

BALANCE, HELP, STOP, START, LANGUAGE, CLAIM, SALE, CODE = (
    "BAL",
    "HELP",
    "STOP",
    "START",
    "LANG",
    "CLAIM",
    "SALE",
    "CODE",
)
COMMANDS = (BALANCE, HELP, STOP, START, LANGUAGE, CLAIM, SALE, CODE)

#: Words understood in every language: Twilio's own opt-out and opt-in keywords among them,
#: so our consent record agrees with what Twilio blocks on its side.
COMMON_WORDS = {
    BALANCE: ("BAL", "BALANCE", "POINTS"),
    HELP: ("HELP", "INFO"),
    STOP: (
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
        "CANCEL",
    ),
    # Twilio re-subscribes on YES too; agreeing with it keeps our record true.
    START: ("START", "UNSTOP", "YES"),
    LANGUAGE: ("LANG", "LANGUAGE"),
    CLAIM: ("CLAIM", "INSTALL"),
    # SALE <invoice number> <product> <quantity>…, or with a photo of the invoice.
    SALE: ("SALE", "SOLD", "INVOICE"),
    CODE: ("CODE", "LOGIN"),
}

#: Words of one language, which also pick the language of the answer to an unknown number.
LOCAL_WORDS = {
    "lv": {
        BALANCE: ("BILANCE", "ATLIKUMS", "PUNKTI"),
        HELP: ("PALĪDZĪBA", "PALĪDZĒT"),
        STOP: ("APTURĒT", "ATTEIKTIES", "ATRAKSTĪTIES"),
        START: ("SĀKT", "ATSĀKT", "PIERAKSTĪTIES"),
        LANGUAGE: ("VALODA",),
        CLAIM: ("PIETEIKT", "UZSTĀDĪTS"),
        SALE: ("PĀRDOTS", "PĀRDOŠANA", "RĒĶINS"),
        CODE: ("KODS",),
    },
    "ru": {
        BALANCE: ("БАЛАНС", "БАЛЛЫ"),
        HELP: ("ПОМОЩЬ", "СПРАВКА"),
        STOP: ("СТОП", "ОТПИСАТЬСЯ", "ОТПИСКА"),
        START: ("СТАРТ", "ПОДПИСАТЬСЯ"),
        LANGUAGE: ("ЯЗЫК",),
        CLAIM: ("ЗАЯВКА", "УСТАНОВКА"),
        SALE: ("ПРОДАЖА", "ПРОДАНО"),
        CODE: ("КОД",),
    },
    "pl": {
        BALANCE: ("SALDO", "PUNKTY"),
        HELP: ("POMOC",),
        STOP: ("WYPISZ", "REZYGNUJĘ"),
        START: ("ZAPISZ", "WZNÓW"),
        LANGUAGE: ("JĘZYK",),
        CLAIM: ("ZGŁOŚ", "MONTAŻ"),
        SALE: ("SPRZEDAŻ", "SPRZEDANE", "FAKTURA"),
        CODE: ("KOD",),
    },
    "he": {
        BALANCE: ("יתרה", "נקודות"),
        HELP: ("עזרה",),
        STOP: ("עצור", "הסר"),
        START: ("התחל", "הצטרף"),
        LANGUAGE: ("שפה",),
        CLAIM: ("התקנה", "רישום"),
        SALE: ("מכירה", "נמכר", "חשבונית"),
        CODE: ("קוד",),
    },
    "fa": {
        BALANCE: ("موجودی", "امتیاز"),
        HELP: ("راهنما", "کمک"),
        STOP: ("توقف", "لغو"),
        START: ("شروع",),
        LANGUAGE: ("زبان",),
        CLAIM: ("نصب", "ثبت"),
        SALE: ("فروش", "فاکتور"),
        CODE: ("کد",),
    },
}


def command_word(command: str, language: str) -> str:
    """The word a message teaches for `command` in `language`: its first local word (what
    people there text back), else the word every language understands."""
    words = LOCAL_WORDS.get(language, {}).get(command)
    return words[0] if words else COMMON_WORDS[command][0]


#: Letters with no decomposition to strip (ł, đ, ø), and Arabic letters typed on Arabic
#: keyboards for their Persian twins; applied after case folding.
_LETTER_VARIANTS = str.maketrans(
    {"ł": "l", "đ": "d", "ø": "o", "ħ": "h", "ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "ـ": None}
)
#: Characters stripped from both ends of the command word ("STOP!", "«Баланс»").
_EDGE_PUNCTUATION = ".,;:!?¡¿'\"«»„“”‘’()[]{}<>-–—*_#~/\\|"


@dataclass(frozen=True)
class Command:
    #: One of COMMANDS, or None when the word is not a command.
    name: str | None
    #: What followed the command word, as typed (stripped), e.g. the serial number.
    argument: str = ""
    #: The language the word belongs to, when only one language uses it.
    language: str | None = None


def fold(text: str) -> str:
    """Text as compared: accents stripped, case folded, one form of each letter and digit."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    kept = []
    for ch in decomposed:
        if unicodedata.combining(ch) or unicodedata.category(ch) == "Cf":
            continue  # accents, niqqud, harakat; zero-width joiners and direction marks
        digit = unicodedata.decimal(ch, None)
        kept.append(str(digit) if digit is not None else ch)
    return "".join(kept).casefold().translate(_LETTER_VARIANTS)


def ascii_digits(text: str) -> str:
    """Digits of any script (Persian, Arabic-Indic…) as ASCII digits; nothing else changes."""
    return "".join(
        str(unicodedata.decimal(ch)) if unicodedata.decimal(ch, None) is not None else ch
        for ch in text
    )


def _word_table() -> dict[str, tuple[str, str | None]]:
    table: dict[str, tuple[str, str | None]] = {}
    for name, words in COMMON_WORDS.items():
        for word in words:
            table[fold(word)] = (name, None)
    for language, commands in LOCAL_WORDS.items():
        for name, words in commands.items():
            for word in words:
                key = fold(word)
                known = table.get(key)
                if known is not None and known[0] != name:
                    raise ValueError(f"{word!r} would mean both {known[0]} and {name}")
                if known is not None and known[1] != language:
                    table[key] = (name, None)  # a word of several languages names none
                else:
                    table[key] = (name, language)
    return table


WORDS = _word_table()


def parse(body: str) -> Command:
    """The command in an SMS body; never raises, whatever the text."""
    # Any whitespace separates the word from its argument (newlines, tabs, no-break spaces).
    parts = (body or "").split(maxsplit=1)
    if not parts:
        return Command(None)
    word, rest = parts[0], parts[1] if len(parts) > 1 else ""
    key = fold(word).strip(_EDGE_PUNCTUATION)
    if not key and "?" in word:
        return Command(HELP, rest.strip())  # a bare "?" asks what one can do
    found = WORDS.get(key)
    if found is None:
        return Command(None, (body or "").strip())
    name, language = found
    return Command(name, rest.strip(), language)


def first_token(argument: str) -> str:
    """The first word of an argument ("AB-123" of "AB-123 at the school"), digits made ASCII."""
    parts = ascii_digits(argument or "").split(maxsplit=1)
    return parts[0].strip(_EDGE_PUNCTUATION) if parts else ""


def sale_argument(argument: str) -> tuple[str, str]:
    """The invoice number and the products of a SALE's argument ("1234 HP-9 2, BX-24"):
    its first word, digits made ASCII, and the rest as typed."""
    parts = ascii_digits(argument or "").split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0].strip(_EDGE_PUNCTUATION), parts[1] if len(parts) > 1 else ""


def parse_language(argument: str, languages) -> str | None:
    """The language an argument names, by code or by name in any of `languages` ("lv",
    "latviešu", "Latvian", "латышский"); None when it names none of them."""
    wanted = fold(first_token(argument))
    if not wanted:
        return None
    for code in languages:
        if wanted == code or wanted in _language_names(code, tuple(languages)):
            return code
    return None


@cache
def _language_names(code: str, languages: tuple[str, ...]) -> set[str]:
    locale = Locale.parse(code)
    return {fold(locale.get_display_name(reader) or "") for reader in languages} - {""}
