"""Words for program states, audit actions, decision conditions and award reasons, in any language."""

from datetime import date
from decimal import Decimal

from flask_babel import get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from channel.audit_text import audit_field, audit_value
from channel.claim_models import ClaimKind, ClaimStatus
from channel.coop import CoopStatus
from channel.fraud import FLAG_LABELS
from channel.ledger import Bucket, EntryKind
from channel.models import AuditAction, ProgramStatus
from channel.reward_categories import RewardCategory
from channel.rewards import RedemptionStatus, RewardKind
from channel.rule_text import points_text
from channel.schemes import RULE_LABELS
from channel.tiers import TierMetric, TierReason, WhyTier
from core.i18n import (
    format_date,
    format_list,
    format_money,
    format_number,
    isolated,
    plural_text,
)
from roles.forms import ROLE_LABELS

CAP_LABELS = {
    "person_month": _l("the monthly cap per person"),
    "partner": _l("the cap per partner"),
    "budget": _l("the program budget"),
    "cashback_month": _l("the monthly cashback cap"),
}


#: The button that starts a claim of each kind.
CLAIM_ACTIONS = {
    "sale": _l("Claim a sale"),
    "install": _l("Register an install"),
    "order": _l("Claim a portal order"),
    "payment": _l("Claim an early payment"),
    "referral": _l("Claim a referral"),
}


def claim_action(kind: str) -> str:
    return _label(CLAIM_ACTIONS, kind)


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


def _sentence(message, **values) -> Markup:
    """A translated sentence (`message`, lazy) with its values escaped; each plain value (a
    program's or reward's name, a serial, an invoice number) is isolated for direction, so
    “Plant ten trees” or INV-7 reads whole inside a Persian or Hebrew sentence."""
    return escape(str(message)) % {
        name: value if isinstance(value, Markup) else Markup("<bdi>%s</bdi>") % value
        for name, value in values.items()
    }


def _claim_words(line) -> Markup | None:
    """The claim a ledger line came from, as its claimant calls it."""
    reference = line.claim_reference or ""
    if line.claim_kind == ClaimKind.SALE:
        return _sentence(_l("your sale, invoice %(number)s"), number=reference)
    if line.claim_kind == ClaimKind.ORDER:
        return _sentence(_l("your portal order, invoice %(number)s"), number=reference)
    if line.claim_kind == ClaimKind.PAYMENT:
        return _sentence(_l("your early payment of invoice %(number)s"), number=reference)
    if line.claim_kind == ClaimKind.INSTALL:
        return _sentence(_l("your install of serial %(serial)s"), serial=reference)
    if line.claim_kind == ClaimKind.REFERRAL:
        return _sentence(_l("your referral of a company"))
    return None


def _source_words(line) -> Markup | None:
    """What an earning was for: the claim, else the rule, in the program it belongs to (None:
    points credited by hand, with nothing behind them to name)."""
    what = _claim_words(line)
    if what is None and line.activity_kind == "training" and line.module:
        what = _sentence(_l("the training module “%(module)s”"), module=line.module)
    if what is None and line.activity_kind == "sale":
        what = _sentence(_l("a sale your distributor reported"))
    if what is None and line.rule_kind:
        what = escape(str(RULE_LABELS.get(line.rule_kind, line.rule_kind)))
    if what is None and line.program:
        what = _sentence(_l("the program “%(program)s”"), program=line.program)
    elif what is not None and line.program:
        what = _sentence(_l("%(what)s, in “%(program)s”"), what=what, program=line.program)
    return what


#: The kinds of ledger line that name what they were earned for.
SOURCED_KINDS = (EntryKind.EARN, EntryKind.RELEASE, EntryKind.REVERSE)


def ledger_line_text(line, lifetime_months: int) -> Markup:
    """One line of a person's points history in plain words: where the points came from or
    went (which claim, rule, program or reward)."""
    source = _source_words(line) if line.kind in SOURCED_KINDS else None
    if line.kind == EntryKind.EARN:
        if source is None:
            return _sentence(_l("Points credited to you"))
        return _sentence(_l("Earned for %(source)s"), source=source)
    if line.kind == EntryKind.RELEASE:
        if source is None:
            return _sentence(_l("Pending points now available to spend"))
        return _sentence(_l("Now available to spend: %(source)s"), source=source)
    if line.kind == EntryKind.REVERSE:
        if source is None:
            return _sentence(_l("Taken back, as the sale was returned"))
        return _sentence(_l("Taken back, as the sale was returned: %(source)s"), source=source)
    if line.kind == EntryKind.EXPIRE:
        # As points_text: the count in the reader's digits, not ngettext's raw number.
        return escape(
            get_translations().ungettext(
                "Expired: points not spent within %(num)s month of being earned",
                "Expired: points not spent within %(num)s months of being earned",
                lifetime_months,
            )
            % {"num": format_number(lifetime_months)}
        )
    reward = line.reward or str(_l("a reward"))
    if line.kind == EntryKind.REDEEM:
        return _sentence(_l("Spent on “%(reward)s”"), reward=reward)
    if line.kind == EntryKind.REFUND:
        return _sentence(
            _l("Given back: your redemption of “%(reward)s” was cancelled"), reward=reward
        )
    if line.kind == EntryKind.TRANSFER:
        return _sentence(_l("From your company's pool"))
    return _sentence(_l("Points moved"))


def claim_points_text(claim, points) -> str:
    """What a claim earned its claimant, or why it earned nothing (yet)."""
    if claim.status == ClaimStatus.PENDING:
        return _("No points yet: they come once the claim is approved.")
    if claim.status == ClaimStatus.REJECTED:
        return _("No points: the claim was rejected.")
    if claim.status == ClaimStatus.RETURNED:
        return _("No points: the sale was returned and its points taken back.")
    if points is None or points.points <= 0:
        # The engine writes nothing for a rule whose cap is used up: either way, no line.
        return _("No points: none of your programs pays for this, or its cap was already reached.")
    if points.pending_until:
        earned = _(
            "Earned %(points)s, pending until %(day)s.",
            points=points_text(points.points),
            day=format_date(points.pending_until),
        )
    else:
        earned = _("Earned %(points)s.", points=points_text(points.points))
    if points.capped_by:
        cap = str(CAP_LABELS.get(points.capped_by, points.capped_by))
        return " ".join((earned, _("Limited by %(cap)s.", cap=cap)))
    return earned


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


def tier_reason(why: WhyTier) -> str:
    """Why a tier changed, in the reader's words and calendar."""
    values = why.values
    if why.code == TierReason.MANUAL:
        text = _(
            "set by hand until %(day)s: %(reason)s",
            day=format_date(date.fromisoformat(values["until"])),
            reason=isolated(values["note"]),
        )
    elif why.code == TierReason.THRESHOLD_MET:
        metric = values["metric"]
        text = _(
            "%(metric)s: %(value)s, at least %(minimum)s",
            metric=TierMetric.label_of(metric),
            value=_tier_measure(metric, values["value"]),
            minimum=_tier_measure(metric, values["minimum"]),
        )
        if values.get("since_registration"):
            text = _("%(reason)s (counted from registration: contract start unknown)", reason=text)
    elif why.code == TierReason.NO_THRESHOLD_MET:
        text = _("no threshold met")
    else:
        text = isolated(values.get("text", ""))
    if "as_of" in values:
        return _(
            "purchases as of %(day)s: %(reason)s",
            day=format_date(date.fromisoformat(values["as_of"])),
            reason=text,
        )
    return text


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
        claim_action=claim_action,
        ledger_line_text=ledger_line_text,
        claim_points_text=claim_points_text,
        tier_metric=TierMetric.label_of,
        tier_reason=tier_reason,
        coop_status=CoopStatus.label_of,
        reward_kind_label=RewardKind.label_of,
        reward_category_label=RewardCategory.label_of,
        Bucket=Bucket,
        ClaimKind=ClaimKind,
        ClaimStatus=ClaimStatus,
        CoopStatus=CoopStatus,
        RewardKind=RewardKind,
        TierMetric=TierMetric,
    )
