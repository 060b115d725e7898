"""Configuration read from the environment, with defaults that let a new user start with nothing."""

import os
from decimal import Decimal
from pathlib import Path

#: The locales PartnerLift ships catalogs for; the first is the source language.
LANGUAGES = ("en", "lv", "pl", "ru", "he", "fa")
RTL_LANGUAGES = frozenset({"he", "fa"})
#: The languages people read in each country the platform serves: a reward offered in a
#: country needs its name and description in each. Latvia's Russian speakers read Russian;
#: Israel's Persian speakers read Persian where a text has it and the source language else.
COUNTRY_LANGUAGES = {"LV": ("lv", "ru"), "PL": ("pl",), "IL": ("he",), "IR": ("fa",)}

_TRUE = {"1", "true", "yes", "on"}


def _flag(environ, name, default):
    value = environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in _TRUE


def _names(value: str | None) -> list[str] | None:
    names = [name.strip() for name in (value or "").split(",") if name.strip()]
    return names or None


def _prices(value: str) -> dict[str, Decimal]:
    """ "utility=0.008, marketing=0.05" → {"utility": Decimal("0.008"), …}."""
    prices = {}
    for pair in value.split(","):
        if not pair.strip():
            continue
        name, _, price = pair.partition("=")
        try:
            prices[name.strip().lower()] = Decimal(price.strip())
        except ArithmeticError:
            raise RuntimeError(f"a price must look like utility=0.008, not {pair!r}") from None
    return prices


def config_from_environment(instance_path: str, environ=None) -> dict:
    """Build the settings dict from environment variables."""
    environ = os.environ if environ is None else environ
    default_db = "sqlite:///" + str(Path(instance_path) / "partnerlift.sqlite3")
    return {
        "SECRET_KEY": environ.get("SECRET_KEY") or None,
        "DATABASE_URL": environ.get("DATABASE_URL") or default_db,
        #: A PostgreSQL read replica of DATABASE_URL that dashboards, results and exports read
        #: from (core.db.reading); None: they read from DATABASE_URL too.
        "DATABASE_REPLICA_URL": environ.get("DATABASE_REPLICA_URL") or None,
        "BABEL_DEFAULT_LOCALE": environ.get("BABEL_DEFAULT_LOCALE", "en"),
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "BABEL_TRANSLATION_DIRECTORIES": str(
            Path(__file__).resolve().parent.parent / "translations"
        ),
        "LANGUAGES": LANGUAGES,
        #: Two-letter region used to read phone numbers typed without a country code.
        "DEFAULT_PHONE_REGION": environ.get("DEFAULT_PHONE_REGION", "LV"),
        #: Largest accepted request body, in bytes: a claim photo (at most 5 MB), a sell-out
        #: CSV of 100,000 lines (4.3 MB with phone numbers, 6.9 MB with e-mail addresses).
        "MAX_CONTENT_LENGTH": int(environ.get("MAX_CONTENT_LENGTH", 8 * 1024 * 1024)),
        #: Rows one sell-out file may hold (blank rows count too); a larger one is refused.
        "IMPORT_MAX_ROWS": int(environ.get("IMPORT_MAX_ROWS", 200_000)),
        #: Where uploaded proof (invoice photos) is kept: outside the web root, served by views.
        #: The TrueType font rebate statements are written in as PDF.
        "PDF_FONT": environ.get("PDF_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        "UPLOAD_FOLDER": environ.get("UPLOAD_FOLDER") or str(Path(instance_path) / "uploads"),
        #: None means: secure unless running with --debug or in tests.
        "SESSION_COOKIE_SECURE": _flag(environ, "SESSION_COOKIE_SECURE", None),
        #: "json": one JSON object a log line, for a log collector; else plain lines.
        "LOG_FORMAT": environ.get("LOG_FORMAT", "text"),
        #: Redirect plain HTTP to HTTPS in the app (off by default: usually the proxy does).
        "FORCE_HTTPS": _flag(environ, "FORCE_HTTPS", False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        #: A sign-in session unused this long is over. Three days keeps someone who uses
        #: PartnerLift each working day signed in over a weekend (field staff sign in by an SMS
        #: code, which costs a message and a minute) while a forgotten device lets go soon;
        #: where staff share computers, set it lower (e.g. 480, a working day).
        "SESSION_IDLE_MINUTES": int(environ.get("SESSION_IDLE_MINUTES", 3 * 24 * 60)),
        #: A sign-in session this old is over however busy: a copied cookie dies by then.
        "SESSION_MAX_DAYS": int(environ.get("SESSION_MAX_DAYS", 30)),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        #: Flask-Limiter storage; "redis://127.0.0.1:6379" when several processes serve.
        "RATELIMIT_STORAGE_URI": environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_KEY_PREFIX": environ.get("RATELIMIT_KEY_PREFIX", "partnerlift"),
        "RATELIMIT_ENABLED": _flag(environ, "RATELIMIT_ENABLED", True),
        "LOGIN_RATE_LIMIT": environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        #: Requests one REST API token may make.
        "API_RATE_LIMIT": environ.get("API_RATE_LIMIT", "600 per minute"),
        #: Sign-in codes sent to one phone number within SIGN_IN_CODE_WINDOW_MINUTES.
        "SIGN_IN_CODES_PER_WINDOW": int(environ.get("SIGN_IN_CODES_PER_WINDOW", 3)),
        "SIGN_IN_CODE_WINDOW_MINUTES": int(environ.get("SIGN_IN_CODE_WINDOW_MINUTES", 15)),
        #: How long earned points stay spendable; `flask ledger expire` removes older ones.
        "POINTS_LIFETIME_MONTHS": int(environ.get("POINTS_LIFETIME_MONTHS", 24)),
        #: What one point costs us, for the outstanding liability on the dashboards.
        "POINT_VALUE": Decimal(environ.get("POINT_VALUE", "0.01")),
        "POINT_CURRENCY": environ.get("POINT_CURRENCY", "EUR"),
        #: Days a sale's points stay pending, so a returned sale can be reversed first.
        "RETURN_WINDOW_DAYS": int(environ.get("RETURN_WINDOW_DAYS", 30)),
        #: Messaging backend: "development" keeps messages in the local outbox only.
        "MESSAGING_BACKEND": environ.get("MESSAGING_BACKEND")
        or ("twilio" if environ.get("TWILIO_ACCOUNT_SID") else "development"),
        #: The gift-card provider's API (`channel.giftcard_provider`): unset, cards come only
        #: from pre-loaded codes and `flask fulfilment run` has nothing to send.
        "GIFTCARD_PROVIDER_URL": environ.get("GIFTCARD_PROVIDER_URL"),
        "GIFTCARD_PROVIDER_KEY": environ.get("GIFTCARD_PROVIDER_KEY"),
        "GIFTCARD_WEBHOOK_SECRET": environ.get("GIFTCARD_WEBHOOK_SECRET"),
        #: The account cash-outs are paid from, named in every SEPA file (`channel.payouts`);
        #: unset, euro cash-outs cannot be batched (other currencies go out as CSV anyway).
        "PAYOUT_DEBTOR_NAME": environ.get("PAYOUT_DEBTOR_NAME"),
        "PAYOUT_DEBTOR_IBAN": environ.get("PAYOUT_DEBTOR_IBAN"),
        "PAYOUT_DEBTOR_BIC": environ.get("PAYOUT_DEBTOR_BIC"),
        "TWILIO_ACCOUNT_SID": environ.get("TWILIO_ACCOUNT_SID"),
        "TWILIO_AUTH_TOKEN": environ.get("TWILIO_AUTH_TOKEN"),
        "TWILIO_FROM": environ.get("TWILIO_FROM"),
        "TWILIO_MESSAGING_SERVICE_SID": environ.get("TWILIO_MESSAGING_SERVICE_SID"),
        #: The app's public address ("https://partnerlift.example.com"): every link in every
        #: outgoing message is built on it (never on the request's Host header, which anyone
        #: may forge), Twilio signs webhooks over it and status callbacks go to it. Required
        #: outside debug and tests.
        "PUBLIC_URL": environ.get("PUBLIC_URL") or None,
        #: The host names requests may name (Host header); others get 400. None: PUBLIC_URL's
        #: host alone (outside debug and tests), e.g. "partnerlift.example.com,10.0.0.7".
        "TRUSTED_HOSTS": _names(environ.get("TRUSTED_HOSTS")),
        #: Requests per client address to each Twilio webhook.
        "TWILIO_WEBHOOK_RATE_LIMIT": environ.get("TWILIO_WEBHOOK_RATE_LIMIT", "600 per minute"),
        #: Another base URL for Twilio's API: a local fake in tests, a proxy in staging.
        "TWILIO_API_URL": environ.get("TWILIO_API_URL"),
        "TWILIO_TIMEOUT_SECONDS": float(environ.get("TWILIO_TIMEOUT_SECONDS", 10)),
        #: All the photos of one inbound message are fetched within this time, or refused with
        #: an answer: Twilio waits 15 s for a webhook's answer, and the rest needs some.
        "TWILIO_MEDIA_SECONDS": float(environ.get("TWILIO_MEDIA_SECONDS", 10)),
        #: Transient failures are retried with exponential backoff up to this many tries.
        "MESSAGING_MAX_ATTEMPTS": int(environ.get("MESSAGING_MAX_ATTEMPTS", 8)),
        #: Messages one worker process keeps in flight at once (threads).
        "MESSAGING_WORKER_THREADS": int(environ.get("MESSAGING_WORKER_THREADS", 4)),
        #: Messages a worker thread leases at once when no carrier pacing applies.
        "MESSAGING_LEASE_BATCH": int(environ.get("MESSAGING_LEASE_BATCH", 10)),
        #: A message being sent is leased for this long: should its worker die, it is due
        #: again afterwards. Keep it well above TWILIO_TIMEOUT_SECONDS plus pacing waits.
        "MESSAGING_LEASE_SECONDS": int(environ.get("MESSAGING_LEASE_SECONDS", 120)),
        #: Carrier pacing per sender in SMS segments a second (about 1 for a long code, 3 for
        #: toll-free, 100 for a short code); WhatsApp in messages a second; 0: no pacing.
        "MESSAGING_SMS_RATE": Decimal(environ.get("MESSAGING_SMS_RATE", "1")),
        "MESSAGING_WHATSAPP_RATE": Decimal(environ.get("MESSAGING_WHATSAPP_RATE", "10")),
        #: Local night in each recipient's own time zone: messages due then wait until it ends.
        "QUIET_HOURS": environ.get("QUIET_HOURS", "21:00-08:00"),
        #: Nudges (not codes, not answers) one person receives in any 7 days, at most.
        "NUDGES_PER_WEEK": int(environ.get("NUDGES_PER_WEEK", 3)),
        #: Hours a nudge or campaign message may wait (night, weekly cap, an outage) before
        #: it is dropped as stale rather than sent late; 0: it waits however long it takes.
        "NUDGE_LIFETIME_HOURS": int(environ.get("NUDGE_LIFETIME_HOURS", 72)),
        #: Percent of people held out of each trigger's messages (the control group), drawn
        #: once per trigger and person; 0: nobody is held out.
        "NUDGE_HOLDOUT_PERCENT": int(environ.get("NUDGE_HOLDOUT_PERCENT", 10)),
        #: What one message costs, shown in a campaign's preview: an SMS segment, a WhatsApp
        #: message, an e-mail (in-app messages are free), in MESSAGE_PRICE_CURRENCY.
        "SMS_SEGMENT_PRICE": Decimal(environ.get("SMS_SEGMENT_PRICE", "0.05")),
        "WHATSAPP_MESSAGE_PRICE": Decimal(environ.get("WHATSAPP_MESSAGE_PRICE", "0.03")),
        "EMAIL_MESSAGE_PRICE": Decimal(environ.get("EMAIL_MESSAGE_PRICE", "0.001")),
        "MESSAGE_PRICE_CURRENCY": environ.get("MESSAGE_PRICE_CURRENCY", "EUR"),
        #: A WhatsApp template message (outside the person's 24 hours) by its category, in
        #: MESSAGE_PRICE_CURRENCY: "utility=0.02,marketing=0.06,authentication=0.02".
        "WHATSAPP_TEMPLATE_PRICES": _prices(
            environ.get(
                "WHATSAPP_TEMPLATE_PRICES", "utility=0.02,marketing=0.06,authentication=0.02"
            )
        ),
        #: A reply, a click or a claim within this many days after a message counts for it.
        "ATTRIBUTION_WINDOW_DAYS": int(environ.get("ATTRIBUTION_WINDOW_DAYS", 7)),
        #: Uplift compares claims and points in this many days after the send (or hold-out).
        "UPLIFT_WINDOW_DAYS": int(environ.get("UPLIFT_WINDOW_DAYS", 14)),
        #: Days the texts and numbers of sent, failed and incoming messages are kept; then
        #: `flask messaging purge` blanks them (counts, statuses and results stay). 0: forever.
        "MESSAGE_RETENTION_DAYS": int(environ.get("MESSAGE_RETENTION_DAYS", 180)),
        #: Requests per client address to a tracked link (/l/<token>).
        "TRACKED_LINK_RATE_LIMIT": environ.get("TRACKED_LINK_RATE_LIMIT", "120 per minute"),
        #: E-mail: smtp://user:password@host:587?starttls=1 or smtps://…; unset: kept locally.
        "SMTP_URL": environ.get("SMTP_URL"),
        "SMTP_FROM": environ.get("SMTP_FROM", "PartnerLift <no-reply@partnerlift.local>"),
        #: argon2id cost; the defaults are RFC 9106's low-memory profile (above OWASP's floor).
        "ARGON2_TIME_COST": int(environ.get("ARGON2_TIME_COST", 3)),
        "ARGON2_MEMORY_COST": int(environ.get("ARGON2_MEMORY_COST", 65536)),
        "ARGON2_PARALLELISM": int(environ.get("ARGON2_PARALLELISM", 4)),
    }
