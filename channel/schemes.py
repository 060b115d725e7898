"""Role-specific schemes: creating and changing a program's earning rules, all checked first.

A rule's parameters are validated by `channel.rule_params`, its product against the catalog,
and the program's rules together by `channel.rule_conflicts.find_conflicts`, so no two rules
can pay twice for one event. Once the program was offered, a change retires the old scheme
and adds a new one in a new program version that partners approve again.
"""

from dataclasses import dataclass, field

from flask import has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from channel import rules as engine
from channel.models import Product, ProductGroup, Program, ProgramStatus
from channel.partner_models import Tier
from channel.programs import bump_version, is_offered
from channel.rule_conflicts import find_conflicts
from channel.rule_params import COMPANY_RULES, RuleError, RuleKind, parse_params
from channel.scheme_models import EarningRule, Scheme, SchemeRole
from core.db import get_session
from core.errors import InvalidInput
from core.i18n import format_list
from roles.forms import ROLE_LABELS
from roles.permissions import PARTNER_ROLES, Role

#: How each parameter problem reads to the channel manager.
PROBLEM_MESSAGES = {
    "required": _l("Required."),
    "whole_number": _l("Must be a whole number."),
    "at_least": _l("Must be at least %(minimum)s."),
    "number": _l("Must be a number."),
    "more_than": _l("Must be more than %(limit)s."),
    "at_most": _l("Must be at most %(limit)s."),
    "datetime": _l("Must be a date and time."),
    "needs_timezone": _l("Must include a time zone."),
    "product_or_group_not_both": _l("Name a product or a product group, not both."),
    "product_or_group_required": _l("Name a product or a product group."),
    "focus_window_needed": _l("A focus multiplier needs its start and end."),
    "focus_multiplier_needed": _l("A focus window needs its multiplier."),
    "after_focus_from": _l("The focus window must end after it starts."),
    "bulk_pair": _l("A bulk bonus needs both its minimum units and its points."),
    "order_points_needed": _l("Give points per order, a bulk bonus, or both."),
    "tier_map": _l("Give a percentage per tier."),
    "tier_or_default": _l("Give a percentage for at least one tier, or a default."),
    "steps_needed": _l("Give at least one step."),
    "steps_increasing": _l("Each step must start higher and give more than the one before."),
    "unknown_kind": _l("Unknown kind of rule “%(kind)s”."),
}

RULE_LABELS = {
    RuleKind.UNIT_SOLD: _l("Points per unit sold"),
    RuleKind.INSTALL: _l("Points per registered install"),
    RuleKind.PORTAL_ORDER: _l("Points per portal order, bulk bonus"),
    RuleKind.EARLY_PAYMENT: _l("Points for paying before the due date"),
    RuleKind.TRAINING: _l("Points per training module or quiz"),
    RuleKind.REFERRAL: _l("Points per referral that becomes active"),
    RuleKind.WELCOME: _l("Welcome bonus on enrolment"),
    RuleKind.VOLUME_REBATE: _l("Volume rebate by tier (company)"),
    RuleKind.CUMULATIVE_DISCOUNT: _l("Cumulative discount (company)"),
    RuleKind.CASHBACK: _l("Cashback per unit, capped per month (company)"),
    RuleKind.FIRST_ORDER_DISCOUNT: _l("Welcome discount on the first order (company)"),
}


def problem_message(problem) -> str:
    """A parameter problem worded in the reader's language."""
    message = str(PROBLEM_MESSAGES[problem.code])
    values = dict(problem.values)
    return message % values if values else message


class InvalidScheme(InvalidInput):
    """A scheme or one of its rules is not valid; nothing was saved."""


@dataclass
class RuleInput:
    kind: str
    params: dict


@dataclass
class SchemeDetails:
    name: str
    roles: list[str] = field(default_factory=list)
    company_level: bool = False
    rules: list[RuleInput] = field(default_factory=list)


def catalog_groups(session: Session) -> dict[str, str]:
    """SKU -> product group code, for matching and conflict checks."""
    rows = session.execute(select(Product.sku, ProductGroup.code).join(Product.group))
    return dict(rows.all())


def engine_scheme(scheme: Scheme, version: int | None = None) -> engine.Scheme:
    """A stored scheme as the rules engine reads it (its rules live in `version`)."""
    live = [r for r in scheme.rules if version is None or r.live_in(version)]
    return engine.Scheme(
        id=scheme.id,
        roles=frozenset(r.value for r in scheme.roles),
        rules=tuple(
            engine.Rule(r.id, RuleKind(r.kind), parse_params(r.kind, r.params)) for r in live
        ),
        company_level=scheme.company_level,
    )


def check_scheme(
    session: Session, program: Program, details: SchemeDetails, *, replacing: Scheme | None = None
) -> tuple[dict, list]:
    """Validate everything; returns (errors by field, parsed rules)."""
    errors: dict[str, str] = {}
    if program.status == ProgramStatus.CLOSED:
        errors["program"] = _l("A closed program cannot be changed.")
    if not " ".join((details.name or "").split()):
        errors["name"] = _l("Give the scheme a name.")
    roles = set()
    for raw in details.roles:
        try:
            roles.add(Role(raw))
        except ValueError:
            errors["roles"] = _l("Unknown role “%(role)s”.", role=raw)
    if details.company_level and roles:
        errors["roles"] = _l("A company-level scheme pays the company, not roles.")
    elif not details.company_level and not roles and "roles" not in errors:
        errors["roles"] = _l("Choose the roles this scheme is for.")
    elif not roles <= PARTNER_ROLES:
        errors["roles"] = _l("Schemes are for partner staff roles.")
    if not details.rules:
        errors["rules"] = _l("Add at least one rule.")

    groups = catalog_groups(session)
    group_codes = set(session.scalars(select(ProductGroup.code)))
    parsed = []
    for index, rule in enumerate(details.rules):
        prefix = f"rules.{index}"
        try:
            kind = RuleKind(rule.kind)
        except ValueError:
            errors[f"{prefix}.kind"] = _l("Unknown kind of rule “%(kind)s”.", kind=rule.kind)
            continue
        if (kind in COMPANY_RULES) != details.company_level:
            errors[f"{prefix}.kind"] = (
                _l("This rule pays a company: put it in a company-level scheme.")
                if kind in COMPANY_RULES
                else _l("This rule pays a person: put it in a scheme for roles.")
            )
            continue
        try:
            params = parse_params(kind, rule.params)
        except RuleError as invalid:
            for name, problem in invalid.errors.items():
                errors[f"{prefix}.{name}"] = problem_message(problem)
            continue
        sku = getattr(params, "product_sku", None)
        group = getattr(params, "product_group", None)
        if sku and sku not in groups:
            errors[f"{prefix}.product_sku"] = _l("No product has the SKU “%(sku)s”.", sku=sku)
            continue
        if group and group not in group_codes:
            errors[f"{prefix}.product_group"] = _l("No product group “%(group)s”.", group=group)
            continue
        parsed.append((index, kind, params))

    if not errors:
        others = [
            engine_scheme(s, program.version)
            for s in program.schemes
            if s.live_in(program.version) and s is not replacing and s.id is not None
        ]
        candidate = engine.Scheme(
            id=0,
            roles=frozenset(r.value for r in roles),
            rules=tuple(engine.Rule(-(i + 1), k, p) for i, k, p in parsed),
            company_level=details.company_level,
        )
        for conflict in find_conflicts([*others, candidate], groups):
            if conflict.first_rule_id < 0 or conflict.second_rule_id < 0:
                errors["rules"] = _l(
                    "Two rules of the kind “%(kind)s” would pay %(roles)s twice for the same event.",
                    kind=str(RULE_LABELS[conflict.kind]),
                    roles=format_list(str(ROLE_LABELS[r]) for r in conflict.roles)
                    if conflict.roles
                    else str(_l("the company")),
                )
                break
    return errors, roles


def save_scheme(
    session: Session,
    program: Program,
    details: SchemeDetails,
    *,
    actor_id: int,
    existing: Scheme | None = None,
) -> Scheme:
    """Create or change a scheme; raises InvalidScheme with every problem, saving nothing."""
    errors, roles = check_scheme(session, program, details, replacing=existing)
    if errors:
        raise InvalidScheme(errors)
    before = _describe(existing) if existing else None
    if is_offered(program):
        bump_version(session, program, actor_id, "scheme", before, _describe_details(details))
        if existing is not None:
            existing.retired_in_version = program.version
            for rule in existing.rules:
                if rule.retired_in_version is None:
                    rule.retired_in_version = program.version
        existing = None
    scheme = existing or Scheme(program_id=program.id, added_in_version=program.version)
    scheme.name = " ".join(details.name.split())
    scheme.company_level = details.company_level
    scheme.role_links = [SchemeRole(role=r.value) for r in sorted(roles)]
    scheme.rules = [
        EarningRule(kind=rule.kind, params=rule.params, added_in_version=program.version)
        for rule in details.rules
    ]
    if scheme.id is None:
        program.schemes.append(scheme)
    session.flush()
    return scheme


def retire_scheme(session: Session, program: Program, scheme: Scheme, *, actor_id: int) -> None:
    """Remove a scheme: deleted from a draft, retired in a new version once offered."""
    if program.status == ProgramStatus.CLOSED:
        raise InvalidScheme({"program": _l("A closed program cannot be changed.")})
    if not is_offered(program):
        program.schemes.remove(scheme)
        session.flush()
        return
    bump_version(session, program, actor_id, "scheme", _describe(scheme), None)
    scheme.retired_in_version = program.version
    for rule in scheme.rules:
        if rule.retired_in_version is None:
            rule.retired_in_version = program.version
    session.flush()


def _describe(scheme: Scheme) -> dict:
    return {
        "name": scheme.name,
        "roles": sorted(r.value for r in scheme.roles),
        "company_level": scheme.company_level,
        "rules": [
            {"kind": r.kind, "params": r.params}
            for r in scheme.rules
            if r.retired_in_version is None
        ],
    }


def _describe_details(details: SchemeDetails) -> dict:
    return {
        "name": details.name,
        "roles": sorted(details.roles),
        "company_level": details.company_level,
        "rules": [{"kind": r.kind, "params": r.params} for r in details.rules],
    }


def product_groups(session: Session) -> list[ProductGroup]:
    """The catalog's product groups by code, for a rule to target."""
    return list(session.scalars(select(ProductGroup).order_by(ProductGroup.code)))


def _session_of(rule) -> Session | None:
    """The session that holds `rule` (a message rendered inside a caller's transaction opens no
    session of its own); a rule not stored yet (the scheme editor's preview, a `RuleInput`) is
    read in the request's session."""
    if isinstance(rule, EarningRule):
        return object_session(rule)
    return get_session() if has_request_context() else None


def product_group_names_for(rule) -> dict[str, str]:
    """Product group code -> name, for the rule's words."""
    session = _session_of(rule)
    if session is None or not (rule.params or {}).get("product_group"):
        return {}
    return dict(session.execute(select(ProductGroup.code, ProductGroup.name)).all())


def tier_names_for(rule) -> dict[str, str]:
    """Tier code -> name, for the words of a rule that pays by tier."""
    session = _session_of(rule)
    if session is None or not (rule.params or {}).get("percent_by_tier"):
        return {}
    return dict(session.execute(select(Tier.code, Tier.name)).all())


def live_scheme(session: Session, program: Program, scheme_id: int) -> Scheme | None:
    """The program's scheme of that id, if it is live in the program's current version."""
    scheme = session.get(Scheme, scheme_id)
    if scheme is None or scheme.program_id != program.id or not scheme.live_in(program.version):
        return None
    return scheme
