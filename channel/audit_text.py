"""An audit entry in plain words: each field by its label, each value as its reader says it.

The audit log stores what changed as the code names it (`cap_per_person_month`, person ids,
state values, a scheme as a dict); people read none of that. Values are rendered here, at
the edge, so old rows read in today's words and any language.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from channel.models import AuditAction, DecisionOutcome, ProgramStatus, SerialCheck
from channel.rule_text import describe_rule, points_text
from core.i18n import format_datetime, format_list, format_money, isolated, language_name
from roles.forms import ROLE_LABELS

FIELD_LABELS = {
    "name": _l("Name of the program"),
    "description": _l("Description"),
    "serial_check": _l("Serial number check"),
    "starts_at": _l("Starts"),
    "ends_at": _l("Ends"),
    "currency": _l("Currency"),
    "point_value": _l("Value of a point"),
    "budget_points": _l("Budget"),
    "cap_per_person_month": _l("Monthly cap per person"),
    "cap_per_partner": _l("Cap per partner"),
    "texts": _l("Translations"),
    "targets": _l("Offered to"),
    "min_tier_id": _l("Only for this tier and above"),
    "tier_only_until": _l("Early access until"),
    "scheme": _l("Scheme"),
    "outcome": _l("Decision"),
    "approved_version": _l("Version approved"),
    "roles": _l("Roles taking part"),
    "excluded": _l("People left out"),
    "pay_to_pool": _l("Points paid"),
    "reason": _l("Reason"),
}

_POINTS_FIELDS = frozenset({"budget_points", "cap_per_person_month", "cap_per_partner"})
_TIME_FIELDS = frozenset({"starts_at", "ends_at", "tier_only_until"})
#: Entries that record a program's move from one state to the next, with no field.
_STATE_ACTIONS = frozenset({AuditAction.OFFERED, AuditAction.LAUNCHED, AuditAction.CLOSED})


@dataclass
class AuditNames:
    """Names for the ids an audit trail holds, looked up once per page."""

    people: dict[int, str] = field(default_factory=dict)
    partners: dict[int, str] = field(default_factory=dict)
    tiers: dict[int, str] = field(default_factory=dict)
    #: Product group code -> name, for the rules of a scheme.
    groups: dict[str, str] = field(default_factory=dict)
    #: The program's currency, for the value of a point.
    currency: str = "EUR"


def audit_field(name: str | None) -> str:
    """A changed field's label; an unknown one (an old row) shows as it is."""
    return str(FIELD_LABELS.get(name, name)) if name else ""


def _names(ids, known: dict[int, str]) -> str:
    return format_list(isolated(known.get(i, _("#%(id)s", id=i))) for i in ids)


def _role_list(roles) -> str:
    return format_list(str(ROLE_LABELS.get(role, role)) for role in roles)


def _scheme(value: dict, names: AuditNames) -> str:
    roles = _("the company") if value.get("company_level") else _role_list(value.get("roles", []))
    rules = []
    for rule in value.get("rules", []):
        try:
            rules.append(describe_rule(rule["kind"], rule["params"], names.currency, names.groups))
        except (KeyError, ValueError, TypeError):
            continue  # a rule kind or shape this version no longer knows
    return _(
        "%(scheme)s for %(roles)s: %(rules)s",
        scheme=isolated(value.get("name", "")),
        roles=roles,
        rules="; ".join(rules) or _("no rules"),
    )


def _targets(value: dict, names: AuditNames) -> str:
    parts = []
    if value.get("partners"):
        parts.append(_("partners %(names)s", names=_names(value["partners"], names.partners)))
    if value.get("tiers"):
        parts.append(_("tiers %(names)s", names=_names(value["tiers"], names.tiers)))
    return "; ".join(parts) or _("nobody")


def _texts(value: dict) -> str:
    return "; ".join(
        f"{language_name(language)}: {isolated(text[0] if isinstance(text, list) else text)}"
        for language, text in sorted(value.items())
    )


def _enrolment(value: dict, names: AuditNames) -> str:
    if "joined" in value:
        people = value["joined"]
        return _("joined: %(people)s", people=_names(people, names.people)) if people else "—"
    people = value.get("left", [])
    return _("left: %(people)s", people=_names(people, names.people)) if people else "—"


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def audit_value(entry, value, names: AuditNames, *, after: bool = True) -> str:
    """One side (before, or `after`) of an audit entry as its reader says it."""
    name = entry.field
    if entry.action == AuditAction.ENROLMENT and isinstance(value, dict):
        return _enrolment(value, names)
    if value is None or value == "":
        if name == "roles" and entry.action == AuditAction.APPROVED and after:
            return _("every role in the program")
        return "—"
    if name is None and entry.action in _STATE_ACTIONS:
        return ProgramStatus.label_of(value)
    if name in _TIME_FIELDS:
        return format_datetime(datetime.fromisoformat(value), "short")
    if name in _POINTS_FIELDS and isinstance(value, int):
        return points_text(value)
    if name == "point_value" and _decimal(value) is not None:
        return format_money(_decimal(value), names.currency)
    if name == "serial_check":
        return SerialCheck.label_of(value)
    if name == "outcome":
        return DecisionOutcome.label_of(value)
    if name == "approved_version":
        return _("version %(version)s", version=value)
    if name == "roles" and isinstance(value, list):
        return _role_list(value)
    if name == "excluded" and isinstance(value, list):
        return _names(value, names.people) if value else _("nobody")
    if name == "pay_to_pool":
        return _("into the company pool") if value else _("to each person")
    if name == "scheme" and isinstance(value, dict):
        return _scheme(value, names)
    if name == "targets" and isinstance(value, dict):
        return _targets(value, names)
    if name == "min_tier_id" and isinstance(value, int):
        return isolated(names.tiers.get(value, str(value)))
    if name == "texts" and isinstance(value, dict):
        return _texts(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return format_list(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(str(v) for v in value.values())
    return str(value)
