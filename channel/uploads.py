"""Uploaded proof (invoice photos, serial plates): checked by content, kept outside the web root.

Files are stored under UPLOAD_FOLDER with random names and served only through views that
check who may see them; the type comes from the bytes, never from the name the phone sent.
"""

import contextlib
import logging
import secrets
from contextlib import contextmanager
from pathlib import Path

import filetype
from flask_babel import lazy_gettext as _l

from core.errors import InvalidInput

log = logging.getLogger(__name__)

#: What a phone camera or a scanner produces, by the MIME type read from the content.
ACCEPTED = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "application/pdf": "pdf",
}
MAX_BYTES = 5 * 1024 * 1024
TOO_LARGE = _l("The photo is larger than 5 MB. Take it again at a lower resolution.")


IMAGES = {mime: ext for mime, ext in ACCEPTED.items() if mime.startswith("image/")}


def store_proof(folder: str | Path, data: bytes, accepted=None) -> tuple[str, str]:
    """Check and save one proof file; returns (stored name, MIME type). Raises InvalidInput."""
    accepted = accepted or ACCEPTED
    if not data:
        raise InvalidInput({"photo": _l("The file is empty.")})
    if len(data) > MAX_BYTES:
        raise InvalidInput({"photo": TOO_LARGE})
    kind = filetype.guess(data)
    if kind is None or kind.mime not in accepted:
        raise InvalidInput({"photo": _l("Send a photo (JPEG, PNG, WebP, HEIC) or a PDF.")})
    folder = Path(folder)
    name = f"{secrets.token_hex(16)}.{accepted[kind.mime]}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    except OSError as error:
        # A full disk fails mid-write: what was written of the file goes too.
        with contextlib.suppress(OSError):
            (folder / name).unlink(missing_ok=True)
        log.error("upload not stored in UPLOAD_FOLDER: %s", error.strerror or error)
        raise InvalidInput(
            {"photo": _l("The photo could not be stored right now. Try again later.")}
        ) from None
    return name, kind.mime


class StoredProofs:
    """`store_proof` for files that belong to rows written in the same transaction, which
    remembers what it stored so that it can remove it again when those rows are not written."""

    def __init__(self, folder: str | Path):
        self.folder = folder
        self.stored: list[str] = []

    def __call__(self, data: bytes, accepted=None) -> tuple[str, str]:
        name, mime = store_proof(self.folder, data, accepted)
        self.stored.append(name)
        return name, mime

    def discard(self) -> None:
        """Remove every file stored so far: the rows that would point at them were refused."""
        for name in self.stored:
            with contextlib.suppress(OSError):
                proof_path(self.folder, name).unlink(missing_ok=True)
        self.stored.clear()


@contextmanager
def proofs_kept_on_success(folder: str | Path):
    """A `StoredProofs` for the block: if the block fails (refused input, a database error,
    the commit), every file it stored is removed again, so no file outlives the rows that
    would point at it. A block that reports a refusal instead of raising calls `discard()`."""
    store = StoredProofs(folder)
    try:
        yield store
    except BaseException:
        store.discard()
        raise


def proof_path(folder: str | Path, name: str) -> Path:
    """The stored file for `name`, refusing anything that is not a plain stored name."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise FileNotFoundError(name)
    return Path(folder) / name
