"""Words for program states, audit actions, decision conditions and award reasons, in any language."""

import re
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from channel.audit_text import audit_field, audit_value
from channel.claim_models import ClaimKind, ClaimStatus
from channel.coop import CoopStatus
from channel.fraud import FLAG_LABELS
from channel.models import AuditAction, ProgramStatus
from channel.rewards import RedemptionStatus, RewardKind
from channel.rule_text import points_text
from channel.tiers import TierMetric
from core.i18n import format_date, format_list, format_money, format_number, isolated, plural_text
from roles.forms import ROLE_LABELS

CAP_LABELS = {
    "person_month": _l("the monthly cap per person"),
    "partner": _l("the cap per partner"),
    "budget": _l("the program budget"),
    "cashback_month": _l("the monthly cashback cap"),
}


def _label(labels: dict, code: str) -> str:
    return str(labels.get(code, code))


#: A claim's status in words (also the dashboards' breakdown by status).
claim_status = ClaimStatus.label_of


def claim_flag(name: str) -> str:
    return _label(FLAG_LABELS, name)


def role_label(label: str) -> str:
    """A role code, several joined by "+", or "company", as the reader says it."""
    if label == "company":
        return _("The company")
    return format_list(str(ROLE_LABELS.get(code, code)) for code in label.split("+"))


def decision_conditions(decision) -> str:
    parts = []
    if decision.roles is not None:
        parts.append(_("only %(roles)s", roles=role_label("+".join(decision.roles))))
    if decision.exclusions:
        left_out = len(decision.exclusions)
        parts.append(
            plural_text(
                "%(num)s person left out",
                "%(num)s people left out",
                left_out,
            )
        )
    if decision.cap_per_person_month:
        parts.append(
            _("cap %(points)s a month", points=format_number(decision.cap_per_person_month))
        )
    if decision.pay_to_pool:
        parts.append(_("paid to the company pool"))
    return format_list(parts) if parts else _("none")


def award_reason(reason: dict) -> str:
    """The numbers the rules engine used, in a sentence."""
    parts = []
    if "quantity" in reason and "points_per_unit" in reason:
        parts.append(
            _(
                "%(quantity)s × %(points)s",
                quantity=format_number(reason["quantity"]),
                points=points_text(reason["points_per_unit"]),
            )
        )
    if "focus_multiplier" in reason:
        parts.append(_("focus product ×%(multiplier)s", multiplier=reason["focus_multiplier"]))
    if "serial" in reason:
        parts.append(_("serial %(serial)s", serial=reason["serial"]))
    if "module" in reason and reason["module"]:
        parts.append(_("module %(module)s", module=reason["module"]))
    if "days_early" in reason:
        days = reason["days_early"]
        parts.append(
            plural_text(
                "paid %(num)s day early",
                "paid %(num)s days early",
                days,
            )
        )
    if "bulk_bonus" in reason:
        parts.append(_("bulk bonus %(points)s", points=points_text(reason["bulk_bonus"])))
    if "percent" in reason and "amount" in reason:
        parts.append(
            _("%(percent)s%% of %(amount)s", percent=reason["percent"], amount=reason["amount"])
        )
    if "capped_by" in reason:
        parts.append(
            _(
                "limited by %(cap)s (would have been %(points)s)",
                cap=str(CAP_LABELS.get(reason["capped_by"], reason["capped_by"])),
                points=points_text(reason.get("uncapped", 0)),
            )
        )
    return "; ".join(parts) if parts else "—"


#: The reasons `channel.tiers` writes, in its own words: read back to be said in the reader's.
_THRESHOLD_MET = re.compile(
    r"^(?P<metric>\w+) (?P<value>[\d.]+) ≥ (?P<minimum>[\d.]+)(?P<unknown> \(since)?"
)
_AS_OF = re.compile(r"^purchases as of (?P<day>\d{4}-\d{2}-\d{2}): (?P<reason>.*)$", re.S)
_MANUAL = re.compile(r"^manual until (?P<day>\d{4}-\d{2}-\d{2}): (?P<reason>.*)$", re.S)


def _tier_measure(metric: str, value: str) -> str:
    amount = Decimal(value)
    if metric == TierMetric.VOLUME:
        return format_money(amount, "EUR")
    if metric == TierMetric.POINTS:
        return points_text(int(amount))
    months = int(amount)
    return plural_text(
        "%(num)s month",
        "%(num)s months",
        months,
    )


def tier_reason(reason: str) -> str:
    """Why a tier changed, in the reader's words and calendar (an unknown form shows as is)."""
    if match := _AS_OF.match(reason):
        return _(
            "purchases as of %(day)s: %(reason)s",
            day=format_date(date.fromisoformat(match["day"])),
            reason=tier_reason(match["reason"]),
        )
    if match := _MANUAL.match(reason):
        return _(
            "set by hand until %(day)s: %(reason)s",
            day=format_date(date.fromisoformat(match["day"])),
            reason=isolated(match["reason"]),
        )
    if reason == "no threshold met":
        return _("no threshold met")
    if (match := _THRESHOLD_MET.match(reason)) and match["metric"] in list(TierMetric):
        metric = match["metric"]
        text = _(
            "%(metric)s: %(value)s, at least %(minimum)s",
            metric=TierMetric.label_of(metric),
            value=_tier_measure(metric, match["value"]),
            minimum=_tier_measure(metric, match["minimum"]),
        )
        if match["unknown"]:
            text = _("%(reason)s (counted from registration: contract start unknown)", reason=text)
        return text
    return reason


def register(app) -> None:
    app.jinja_env.globals.update(
        program_status=ProgramStatus.label_of,
        audit_action=AuditAction.label_of,
        audit_field=audit_field,
        audit_value=audit_value,
        role_label=role_label,
        decision_conditions=decision_conditions,
        award_reason=award_reason,
        points_text=points_text,
        redemption_status=RedemptionStatus.label_of,
        claim_status=claim_status,
        claim_flag=claim_flag,
        tier_metric=TierMetric.label_of,
        tier_reason=tier_reason,
        coop_status=CoopStatus.label_of,
        reward_kind_label=RewardKind.label_of,
        ClaimKind=ClaimKind,
        ClaimStatus=ClaimStatus,
        CoopStatus=CoopStatus,
        RewardKind=RewardKind,
        TierMetric=TierMetric,
    )
