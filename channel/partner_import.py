"""Importing partner organizations (from the manufacturer's ERP or CRM): create or update each
by its country and legal id, with its kind, the distributor it buys through and its contract.

Every row is checked as the partner form checks it (`channel.partners.save_partner`) and
either saved whole or reported with its reason; a row that changes nothing counts as
unchanged, so importing a file again changes nothing. A blank kind or contract start leaves
an existing partner's as it is. The distributor (`parent`, its legal id) must exist or come
earlier in the file. Two imports at once take turns (`core.db.lock_keys`); the unique
(country, legal id) key stores each partner once whatever else writes.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.partner_models import PartnerKind, PartnerOrganization
from channel.partners import InvalidPartner, PartnerDetails, save_partner
from core.db import lock_keys
from core.tables import UnreadableFile, table_rows

REQUIRED = ("legal_id", "country", "name")
MAX_ROWS = 50_000


class UnreadablePartnersFile(UnreadableFile):
    """The file as a whole cannot be read; nothing was imported."""


@dataclass
class PartnersReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def read_partners(data: bytes, max_rows: int = MAX_ROWS):
    """(line number, row) of a partners file, CSV or XLSX (`core.tables.table_rows`)."""
    return table_rows(data, REQUIRED, max_rows, UnreadablePartnersFile)


def import_partners(session: Session, rows: Iterable, *, today: date) -> PartnersReport:
    """Create or update partners row by row; each is saved whole or reported, never half."""
    lock_keys(session, "partner-import")
    report = PartnersReport()
    for number, row in rows:
        try:
            with session.begin_nested():
                outcome = _import_row(session, row, today)
        except InvalidPartner as invalid:
            report.rejected.append((number, "; ".join(str(m) for m in invalid.errors.values())))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _import_row(session: Session, row: dict, today: date) -> str:
    text = {name: str(value if value is not None else "").strip() for name, value in row.items()}
    if any("\x00" in value for value in text.values()):
        raise InvalidPartner({"row": _l("The line holds a NUL character, which cannot be saved.")})
    country = text["country"].upper()
    legal_id = "".join(text["legal_id"].split()).upper()
    existing = session.scalar(
        select(PartnerOrganization).where(
            PartnerOrganization.country == country, PartnerOrganization.legal_id == legal_id
        )
    )
    details = (
        PartnerDetails(
            name=existing.name,
            country=existing.country,
            legal_id=existing.legal_id,
            kind=existing.kind,
            tier_id=existing.tier_id,
            parent_id=existing.parent_id,
            status=existing.status,
            contract_started_on=existing.contract_started_on,
        )
        if existing is not None
        else PartnerDetails(name="", country=country, legal_id=legal_id)
    )
    before = details
    errors = {}
    details = replace(details, name=text["name"], country=country, legal_id=legal_id)
    kind = text.get("kind", "").lower()
    if kind:
        if kind not in list(PartnerKind):
            errors["kind"] = _l(
                "The kind must be one of: %(kinds)s.", kinds=", ".join(k.value for k in PartnerKind)
            )
        details = replace(details, kind=kind)
    if text.get("parent"):
        parent = _parent(session, text["parent"], country)
        if parent is None:
            errors["parent"] = _l(
                "No partner with the legal id “%(id)s” to buy through: list it first.",
                id=text["parent"][:64],
            )
        else:
            details = replace(details, parent_id=parent.id)
    started = row.get("contract_started_on")
    if str(started if started is not None else "").strip():
        day = _day(started)
        if day is None or day > today:
            errors["contract_started_on"] = _l(
                "The contract start is unreadable (use YYYY-MM-DD) or in the future."
            )
        details = replace(details, contract_started_on=day)
    if errors:
        raise InvalidPartner(errors)
    if existing is not None and replace(details, name=" ".join(details.name.split())) == before:
        return "unchanged"
    save_partner(session, details, existing=existing)
    return "created" if existing is None else "updated"


def _parent(session: Session, raw: str, country: str) -> PartnerOrganization | None:
    """The partner with legal id `raw`: the one in `country` where several share it."""
    found = session.scalars(
        select(PartnerOrganization).where(
            PartnerOrganization.legal_id == "".join(raw.split()).upper()
        )
    ).all()
    if len(found) > 1:
        found = [p for p in found if p.country == country]
    return found[0] if len(found) == 1 else None


def _day(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None
