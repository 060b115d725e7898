"""Importing a partner's staff from CSV: every row checked, valid rows imported, bad rows reported.

A row is imported whole or not at all; a file that cannot be read imports nothing.
"""

import csv
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from core.csvfiles import dict_reader, normalized_header, repeated_columns
from core.errors import InvalidInput
from core.tables import UnreadableFile, check_line_count, csv_rows, too_many_rows
from roles.models import ContactChannel
from roles.people import PersonDetails, Placement, check_person, create_person

REQUIRED_COLUMNS = ("full_name", "phone", "roles")
OPTIONAL_COLUMNS = ("email", "language", "timezone", "preferred_channel")
MAX_ROWS = 5000


class UnreadableStaffFile(UnreadableFile, InvalidInput):
    """The file as a whole cannot be imported; nothing was imported (reported at `file`)."""

    def __init__(self, message: str):
        InvalidInput.__init__(self, {"file": message})
        self.args = (message,)


@dataclass
class RowOutcome:
    line: int
    full_name: str
    errors: list[str] = field(default_factory=list)
    person_id: int | None = None


@dataclass
class StaffImportReport:
    imported: list[RowOutcome] = field(default_factory=list)
    rejected: list[RowOutcome] = field(default_factory=list)


def read_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs from a UTF-8 CSV with a header; comma or semicolon separated."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableStaffFile(
            _l("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")
        ) from None
    if not text.strip():
        raise UnreadableStaffFile(_l("The file is empty."))
    check_line_count(text, MAX_ROWS, UnreadableStaffFile)
    reader = dict_reader(text, strict=True)
    try:
        header = normalized_header(reader)
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise UnreadableStaffFile(
                _l(
                    "The header row lacks the columns %(missing)s. Required: %(required)s; optional: %(optional)s.",
                    missing=", ".join(missing),
                    required=", ".join(REQUIRED_COLUMNS),
                    optional=", ".join(OPTIONAL_COLUMNS),
                )
            )
        if repeated := repeated_columns(header):
            raise UnreadableStaffFile(repeated)
        rows = []
        for row in csv_rows(reader, UnreadableStaffFile):
            if len(rows) >= MAX_ROWS:
                raise UnreadableStaffFile(too_many_rows(MAX_ROWS))
            if None in row:
                rows.append(
                    (reader.line_num, {"__extra__": "1", **{k: v for k, v in row.items() if k}})
                )
            elif any((v or "").strip() for v in row.values()):
                rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items()}))
    except csv.Error as exc:
        raise UnreadableStaffFile(
            _l("The file is not valid CSV (line %(line)s).", line=reader.line_num)
        ) from exc
    if not rows:
        raise UnreadableStaffFile(_l("The file has a header but no rows."))
    return rows


def import_staff(session: Session, data: bytes, placement: Placement) -> StaffImportReport:
    rows = read_rows(data)
    report = StaffImportReport()
    seen_phones: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    valid: list[tuple[RowOutcome, dict]] = []
    for line, row in rows:
        outcome = RowOutcome(line=line, full_name=row.get("full_name", ""))
        extra = {}
        if row.get("__extra__"):
            extra["row"] = _l("The row has more cells than the header.")
        if any("\x00" in (value or "") for value in row.values()):
            # PostgreSQL refuses NUL in text: the row would fail the whole import.
            outcome.errors = [str(_l("The line holds a NUL character, which cannot be saved."))]
            report.rejected.append(outcome)
            continue
        details = PersonDetails(
            full_name=row.get("full_name", ""),
            phone=row.get("phone", ""),
            roles=[
                r
                for r in row.get("roles", "").replace("|", ";").replace(",", ";").split(";")
                if r.strip()
            ],
            email=row.get("email") or None,
            language=row.get("language") or None,
            timezone=row.get("timezone") or None,
            preferred_channel=row.get("preferred_channel") or ContactChannel.SMS,
            extra_errors=extra,
        )
        clean, errors = check_person(session, details, placement)
        if "phone" not in errors and clean["phone"] in seen_phones:
            errors["phone"] = _l(
                "Same phone number as line %(line)s.", line=seen_phones[clean["phone"]]
            )
        if "email" not in errors and clean["email"] and clean["email"] in seen_emails:
            errors["email"] = _l("Same e-mail as line %(line)s.", line=seen_emails[clean["email"]])
        if errors:
            outcome.errors = [str(message) for message in errors.values()]
            report.rejected.append(outcome)
            continue
        seen_phones[clean["phone"]] = line
        if clean["email"]:
            seen_emails[clean["email"]] = line
        valid.append((outcome, clean))
    for outcome, clean in valid:
        outcome.person_id = create_person(session, partner_id=placement.partner_id, clean=clean).id
        report.imported.append(outcome)
    return report
