"""The registry of Twilio Content templates: synced from Twilio's Content API, each one's
message kind and variable names kept here (`flask messaging templates sync`, the admin page).

A sync reads every template in the account and WhatsApp's verdict on each (its approval
request), then, in one transaction: adds the new ones, updates the changed ones (keeping
the kind and the names of the variables that are still there), records rejections, and
marks as removed the ones no longer in the account (kept for the record, never used).
A new template's kind is guessed from its name ("points_earned_lv" → points_earned) and
each variable's name from its sample value when that is a name ("points"); the admin page
sets both otherwise.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import lock_keys
from core.errors import InvalidInput
from messaging.models import ContentTemplate, TemplateApproval, TemplateCategory
from messaging.whatsapp import QUICK_REPLY, primary_language

#: A variable's name: a value of the message's context, or a path into one ("claim.serial").
NAME = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*")
#: The lock key two syncs share.
SYNC_LOCK = "content_templates:sync"
#: The kind of every campaign message (messaging.campaigns.sending.KIND).
CAMPAIGN_KIND = "campaign"
#: The kind of every survey message (messaging.surveys.sending.KIND): a question, an
#: invitation or a reminder, its text the template's `text`.
SURVEY_KIND = "survey"


class InvalidTemplate(InvalidInput):
    """A template's kind or variable names cannot be saved as given; nothing was."""


@dataclass(frozen=True)
class FetchedTemplate:
    """One template as Twilio's Content API describes it."""

    content_sid: str
    friendly_name: str
    language: str
    #: Twilio's variables: placeholder number → sample value ({"1": "first_name"}).
    samples: dict[str, str]
    updated_at: datetime | None
    approval: str
    category: str | None
    rejection_reason: str | None = None
    content_type: str = "twilio/text"


@dataclass
class SyncReport:
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0


def message_kinds(template_folder: str | Path) -> list[str]:
    """Every message kind: a folder under templates/messaging/, campaigns and surveys."""
    folder = Path(template_folder) / "messaging"
    kinds = {path.name for path in folder.iterdir() if path.is_dir()}
    return sorted(kinds | {CAMPAIGN_KIND, SURVEY_KIND})


def approval_of(status: str | None) -> str:
    """Twilio's status as one of ours; anything unknown counts as not yet approved."""
    status = (status or "").strip().lower()
    return TemplateApproval(status) if status in set(TemplateApproval) else TemplateApproval.PENDING


def category_of(category: str | None) -> str | None:
    category = (category or "").strip().lower()
    return TemplateCategory(category) if category in set(TemplateCategory) else None


def content_type_of(types: dict | None) -> str:
    """The template's kind of content: buttons when it has them, else its first type."""
    names = [str(name)[:32] for name in (types or {})]
    return QUICK_REPLY if QUICK_REPLY in names else (names[0] if names else "twilio/text")


def guess_kind(friendly_name: str, kinds) -> str | None:
    """ "points_earned", "points_earned_lv" or "points-earned.lv" → "points_earned"."""
    name = re.sub(r"[\s.-]+", "_", friendly_name.strip().lower())
    for candidate in (name, name.rsplit("_", 1)[0]):
        if candidate in kinds:
            return candidate
    return None


def _placeholders(samples: dict) -> list[str]:
    return sorted((key for key in samples or {} if str(key).isdigit()), key=int)


def variable_names(samples: dict, known: dict[str, str] | None = None) -> list[str]:
    """The names of {{1}}, {{2}}…: kept from `known` (placeholder → name), else the sample
    value when it is a name, else "" (to be named on the admin page)."""
    names = []
    for key in _placeholders(samples):
        sample = str(samples[key] or "").strip()
        kept = (known or {}).get(key)
        names.append(kept if kept else sample if NAME.fullmatch(sample) else "")
    return names


def apply_sync(
    session: Session, fetched: list[FetchedTemplate], kinds, now: datetime
) -> SyncReport:
    """Bring the registry in line with `fetched`, the account's templates; flushes. Two syncs
    at once take turns (a key lock), so the second reads what the first wrote."""
    lock_keys(session, SYNC_LOCK)
    report = SyncReport()
    rows = {row.content_sid: row for row in session.scalars(select(ContentTemplate))}
    for template in fetched:
        row = rows.pop(template.content_sid, None)
        if row is None:
            row = ContentTemplate(
                content_sid=template.content_sid,
                kind=guess_kind(template.friendly_name, kinds),
                variables=variable_names(template.samples),
            )
            session.add(row)
            report.new.append(template.content_sid)
        else:
            placeholders = [str(n) for n in range(1, len(row.variables or []) + 1)]
            known = dict(zip(placeholders, row.variables or [], strict=True))
            changed = (
                row.updated_at != template.updated_at
                or row.approval == TemplateApproval.REMOVED
                or row.friendly_name != template.friendly_name[:255]
                or row.language != primary_language(template.language)
                or len(row.variables or []) != len(_placeholders(template.samples))
                or row.content_type != template.content_type
            )
            row.variables = variable_names(template.samples, known)
            if template.approval == TemplateApproval.REJECTED != row.approval:
                report.rejected.append(template.content_sid)
            elif changed or row.approval != template.approval:
                report.changed.append(template.content_sid)
            else:
                report.unchanged += 1
        row.friendly_name = template.friendly_name[:255]
        row.content_type = template.content_type
        row.language = primary_language(template.language)
        row.approval, row.category = template.approval, template.category
        row.rejection_reason = (template.rejection_reason or None) and template.rejection_reason[
            :255
        ]
        row.updated_at, row.synced_at = template.updated_at, now
    for row in rows.values():
        if row.approval != TemplateApproval.REMOVED:
            row.approval, row.synced_at = TemplateApproval.REMOVED, now
            report.removed.append(row.content_sid)
    session.flush()
    return report


def fetch_templates(client) -> list[FetchedTemplate]:
    """Every template in the account and WhatsApp's verdict on each, through the twilio
    library's Content API (`client.content.v1`)."""
    fetched = []
    for content in client.content.v1.contents.stream(page_size=50):
        verdict = client.content.v1.contents(content.sid).approval_fetch().fetch().whatsapp or {}
        fetched.append(
            FetchedTemplate(
                content_sid=content.sid,
                friendly_name=content.friendly_name or "",
                language=content.language or "",
                samples={str(k): str(v) for k, v in (content.variables or {}).items()},
                updated_at=content.date_updated,
                approval=approval_of(verdict.get("status")),
                category=category_of(verdict.get("category")),
                rejection_reason=verdict.get("rejection_reason") or None,
                content_type=content_type_of(content.types),
            )
        )
    return fetched


# ---------------------------------------------------------------- the admin page


def all_templates(session: Session) -> list[ContentTemplate]:
    return list(
        session.scalars(
            select(ContentTemplate).order_by(
                ContentTemplate.approval == TemplateApproval.REMOVED,
                ContentTemplate.kind,
                ContentTemplate.language,
                ContentTemplate.content_sid,
            )
        )
    )


def missing_templates(session: Session, kinds, languages) -> dict[str, list[str]]:
    """Each message kind with the languages that have no approved template for it."""
    approved = set(
        session.execute(
            select(ContentTemplate.kind, ContentTemplate.language).where(
                ContentTemplate.approval == TemplateApproval.APPROVED
            )
        ).all()
    )
    gaps = {kind: [lang for lang in languages if (kind, lang) not in approved] for kind in kinds}
    return {kind: languages for kind, languages in gaps.items() if languages}


def edit_template(
    session: Session, template_id: int, *, kind: str, variables: str, kinds
) -> ContentTemplate:
    """Set which message kind a template stands for and the names of its variables, in
    order ("first_name, points"); every error reported at once."""
    row = session.get(ContentTemplate, template_id)
    if row is None:
        raise InvalidTemplate({"kind": _l("This template is no longer in the registry.")})
    names = [name.strip() for name in variables.split(",")] if (variables or "").strip() else []
    errors = {}
    if kind and kind not in kinds:
        errors["kind"] = _l("Choose a message kind from the list.")
    count = len(row.variables or [])
    if not count and names:
        errors["variables"] = _l("The template has no variables: leave this empty.")
    elif len(names) != count:
        errors["variables"] = ngettext(
            "The template has %(num)s variable: name it.",
            "The template has %(num)s variables: name each, separated by commas.",
            count,
        )
    elif any(not NAME.fullmatch(name) for name in names):
        errors["variables"] = _l(
            "A name is small letters, digits and _, with dots between parts (claim.serial)."
        )
    if errors:
        raise InvalidTemplate(errors)
    row.kind, row.variables = kind or None, names
    session.flush()
    return row
