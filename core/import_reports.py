"""An import's full report (every line refused and why) kept as CSV for the one who ran it.

The report page shows the counts and the first REPORT_PAGE_LINES problems; a file of
200,000 refused lines would make a page of megabytes. The whole list goes to a file under
UPLOAD_FOLDER named by the importer's id and a random token, so only a link holding the
token, followed by the same person, finds it; reports older than a day are removed when
the next one is written.
"""

import csv
import re
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

from core.tables import inert

#: Problems a report page lists; the rest are in the download.
REPORT_PAGE_LINES = 100
KEEP_SECONDS = 24 * 3600
_TOKEN = re.compile(r"[0-9a-f]{32}")


def _folder(upload_folder) -> Path:
    return Path(upload_folder) / "import-reports"


def keep_report(upload_folder, owner_id: int, header: list[str], rows: Iterable[tuple]) -> str:
    """Write the report's rows as CSV for `owner_id`; returns the token that finds it."""
    folder = _folder(upload_folder)
    folder.mkdir(parents=True, exist_ok=True)
    stale = time.time() - KEEP_SECONDS
    for old in folder.glob("*.csv"):
        if old.stat().st_mtime < stale:
            old.unlink(missing_ok=True)
    token = secrets.token_hex(16)
    with (folder / f"{owner_id}-{token}.csv").open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([_cell(value) for value in row] for row in rows)
    return token


def report_path(upload_folder, owner_id: int, token: str) -> Path | None:
    """The report `owner_id` kept under `token`, or None (another's, gone, or no token)."""
    if not _TOKEN.fullmatch(token or ""):
        return None
    path = _folder(upload_folder) / f"{owner_id}-{token}.csv"
    return path if path.is_file() else None


def _cell(value):
    return inert(str(value))
