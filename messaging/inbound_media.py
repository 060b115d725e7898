"""Photos texted to us (MMS, WhatsApp): fetched from Twilio, checked and stored as web proof.

Twilio hands a message's photos over as URLs (`MediaUrl0`…, with `NumMedia`) that answer
only to the account's credentials. `fetch_photos` downloads each through the twilio
library's HTTP client, one at a time, with a timeout and a size limit, and stores it with
`channel.uploads` exactly as a web upload is stored (its type read from the bytes). It runs
before the message's transaction, so no lock is held while a photo downloads; every file is
stored through the caller's `StoredProofs`, which removes them all again unless a claim took
them (`TextedPhotos.attached`). One photo refused refuses the message: a claim never goes
without a photo it was sent with.

Twilio waits 15 s for the webhook's answer. A timeout per request does not bound ten photos,
nor one that trickles in a byte at a time, so the downloads run in a thread of their own
that the webhook waits for `TWILIO_MEDIA_SECONDS` at most: later, it answers "send it again
later" and stores nothing, and the thread stops at its next chunk (or its read timeout).
Files are stored by the webhook only once every photo has arrived in time, so a download
that finishes late writes nothing.
"""

import contextvars
import logging
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from flask_babel import lazy_gettext as _l
from twilio.http.http_client import TwilioHttpClient

from channel.uploads import ACCEPTED, MAX_BYTES, TOO_LARGE, StoredProofs
from core.errors import InvalidInput

log = logging.getLogger(__name__)

#: Twilio carries at most 10 media items in one message.
MAX_MEDIA = 10
#: Where Twilio's media URLs live: the account's credentials go nowhere else.
TWILIO_API = "https://api.twilio.com"
_CHUNK = 64 * 1024
LATER = _l("We could not fetch your photo right now. Send it again later.")


@dataclass(frozen=True)
class MediaItem:
    url: str
    #: The type Twilio reports; the stored type is read from the bytes all the same.
    content_type: str


@dataclass
class TextedPhotos:
    """What became of a message's photos: stored, or refused with the reason to answer."""

    stored: list[tuple[str, str]] = field(default_factory=list)
    refused: object | None = None
    #: Set once a claim holds the stored files; otherwise the caller removes them.
    attached: bool = False


class MediaRefused(Exception):
    """A photo could not be fetched or is too large; its message is the answer to send."""


def media_items(form) -> list[MediaItem]:
    """The media a webhook's form names (`NumMedia`, `MediaUrlN`, `MediaContentTypeN`)."""
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        return []
    items = []
    for n in range(max(0, min(count, MAX_MEDIA))):
        url = (form.get(f"MediaUrl{n}") or "").strip()
        if url:
            items.append(MediaItem(url, (form.get(f"MediaContentType{n}") or "").strip().lower()))
    return items


class TwilioMedia:
    """Downloads media with the account's credentials through twilio's HTTP client."""

    def __init__(self, config):
        self.timeout = config.get("TWILIO_TIMEOUT_SECONDS", 10)
        #: Every photo of one message within this time, or none of them.
        self.budget = config.get("TWILIO_MEDIA_SECONDS", 10)
        # The client's own session (its pool, proxy and hooks); its `request()` would decode
        # the body as text, which spoils a photo, so the bytes are read from the session.
        self.http = TwilioHttpClient(timeout=self.timeout)
        self.auth = (config.get("TWILIO_ACCOUNT_SID") or "", config.get("TWILIO_AUTH_TOKEN") or "")
        base = urlsplit((config.get("TWILIO_API_URL") or TWILIO_API).rstrip("/"))
        self.origin = (base.scheme, base.netloc)

    def fetch_all(self, urls: list[str]) -> list[bytes]:
        """The bytes at each of `urls`, in order, all within `budget` seconds; the first one
        refused (or the budget spent) raises MediaRefused."""
        stop = threading.Event()
        outcome: dict = {}

        def download():
            try:
                fetched = []
                for url in urls:
                    fetched.append(self.fetch(url, stop=stop))
                outcome["fetched"] = fetched
            except MediaRefused as refused:
                outcome["refused"] = refused

        # The thread runs in the request's context (configuration, logging) but touches no
        # database session and stores nothing: what it brings back late is dropped.
        worker = threading.Thread(
            target=contextvars.copy_context().run, args=(download,), daemon=True
        )
        worker.start()
        worker.join(self.budget)
        if worker.is_alive():
            stop.set()
            log.warning("media fetch refused: %s item(s) not in %ss", len(urls), self.budget)
            raise MediaRefused(LATER)
        if "refused" in outcome:
            raise outcome["refused"]
        return outcome["fetched"]

    def fetch(self, url: str, limit: int = MAX_BYTES, stop: threading.Event | None = None) -> bytes:
        """The bytes at `url`; a photo larger than `limit` is refused before it is all read,
        and one still coming when `stop` is set is given up."""
        if (urlsplit(url).scheme, urlsplit(url).netloc) != self.origin:
            log.warning("media refused: not at Twilio's API")
            raise MediaRefused(_l("We could not fetch your photo. Send it again."))
        try:
            with self.http.session.get(
                url,
                auth=self.auth,
                timeout=self.timeout,
                stream=True,
                proxies=self.http.proxy or None,
            ) as response:
                if response.status_code != 200:
                    log.warning("media fetch answered %s", response.status_code)
                    raise MediaRefused(_l("We could not fetch your photo. Send it again."))
                announced = response.headers.get("Content-Length") or ""
                if announced.isdigit() and int(announced) > limit:
                    raise MediaRefused(TOO_LARGE)
                data = bytearray()
                for chunk in response.iter_content(_CHUNK):
                    if stop is not None and stop.is_set():
                        raise MediaRefused(LATER)
                    data += chunk
                    if len(data) > limit:  # a length not announced, or announced falsely
                        raise MediaRefused(TOO_LARGE)
                return bytes(data)
        except requests.RequestException as error:
            log.warning("media fetch failed: %s", type(error).__name__)
            raise MediaRefused(LATER) from None


def fetch_photos(media: TwilioMedia, items: list[MediaItem], store: StoredProofs) -> TextedPhotos:
    """Fetch, check and store every item; the first one refused refuses them all (and the
    files stored so far stay in `store` for the caller to remove)."""
    photos = TextedPhotos()
    for item in items:
        if item.content_type and item.content_type not in ACCEPTED:
            # Twilio says what it is: a video or a contact card is refused unfetched.
            photos.refused = _l("Send a photo (JPEG, PNG, WebP, HEIC) or a PDF.")
            return photos
    try:
        fetched = media.fetch_all([item.url for item in items])
    except MediaRefused as unavailable:
        photos.refused = unavailable.args[0]
        return photos
    for data in fetched:
        try:
            photos.stored.append(store(data))
        except InvalidInput as invalid:
            photos.refused = next(iter(invalid.errors.values()))
            return photos
    return photos
