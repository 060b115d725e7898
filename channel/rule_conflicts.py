"""Checking a program's schemes together: no two rules may pay twice for one event to the
same person (roles that overlap) or the same company.

Pure Python over the rules engine's plain data (`channel.rules.Scheme`), used by the scheme
editor (`channel.schemes`) before anything is saved.
"""

from __future__ import annotations

from dataclasses import dataclass

from channel.rule_params import RuleKind
from channel.rules import Scheme


def _targets_overlap(a, b, sku_groups: dict[str, str]) -> bool:
    def target(params):
        return getattr(params, "product_sku", None), getattr(params, "product_group", None)

    (sku_a, group_a), (sku_b, group_b) = target(a), target(b)
    if not (sku_a or group_a) or not (sku_b or group_b):
        return True  # one of them covers every product
    if sku_a and sku_b:
        return sku_a == sku_b
    if group_a and group_b:
        return group_a == group_b
    sku, group = (sku_a, group_b) if sku_a else (sku_b, group_a)
    return sku_groups.get(sku) == group


def _same_trigger(kind: RuleKind, a, b, sku_groups) -> bool:
    if kind in (RuleKind.UNIT_SOLD, RuleKind.INSTALL):
        return _targets_overlap(a, b, sku_groups)
    if kind is RuleKind.TRAINING:
        return a.module is None or b.module is None or a.module == b.module
    return True  # every other kind fires on every event of its kind


@dataclass(frozen=True)
class Conflict:
    """Two rules that would pay twice for one event to the same roles (or company)."""

    kind: RuleKind
    first_rule_id: int
    second_rule_id: int
    roles: tuple[str, ...]


def find_conflicts(schemes: list[Scheme], sku_groups: dict[str, str]) -> list[Conflict]:
    """Every pair of rules that would pay twice for one event to one person or one company."""
    conflicts = []
    flat = [(scheme, rule) for scheme in schemes for rule in scheme.rules]
    for i, (scheme_a, rule_a) in enumerate(flat):
        for scheme_b, rule_b in flat[i + 1 :]:
            if rule_a.kind is not rule_b.kind:
                continue
            if scheme_a.company_level != scheme_b.company_level:
                continue
            if not scheme_a.company_level and not (scheme_a.roles & scheme_b.roles):
                continue
            if _same_trigger(rule_a.kind, rule_a.params, rule_b.params, sku_groups):
                shared = tuple(sorted(scheme_a.roles & scheme_b.roles))
                conflicts.append(Conflict(rule_a.kind, rule_a.id, rule_b.id, shared))
    return conflicts
