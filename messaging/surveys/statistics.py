"""Net Promoter Score with its 95 % interval, and the rule that keeps small groups of an
anonymous survey hidden. Plain arithmetic in Decimal, no Flask, no database.

NPS = 100 · (promoters − detractors) / n, promoters answering 9–10 and detractors 0–6. Its
interval is the normal approximation for the difference of two proportions taken from one
multinomial sample: Var(p̂ₚ − p̂ᵈ) = (pₚ + pᵈ − (pₚ − pᵈ)²) / n, so the interval is
NPS ± z · 100 · √Var, cut to [−100, 100]. With fewer than two answers there is no interval.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

#: The standard normal quantile for a two-sided 95 % interval.
Z95 = Decimal("1.959964")
#: In an anonymous survey a group with fewer answers than this is never shown.
MIN_ANONYMOUS_GROUP = 5
#: Shown NPS figures keep one decimal.
TENTH = Decimal("0.1")


class NpsGroup:
    PROMOTER = "promoter"
    PASSIVE = "passive"
    DETRACTOR = "detractor"

    ALL = (PROMOTER, PASSIVE, DETRACTOR)


def nps_group(score: int) -> str:
    """The group of an answer on the 0–10 scale."""
    if score >= 9:
        return NpsGroup.PROMOTER
    if score >= 7:
        return NpsGroup.PASSIVE
    return NpsGroup.DETRACTOR


@dataclass(frozen=True)
class Nps:
    promoters: int
    passives: int
    detractors: int
    #: −100…100, one decimal; None without answers.
    score: Decimal | None
    low: Decimal | None
    high: Decimal | None

    @property
    def answers(self) -> int:
        return self.promoters + self.passives + self.detractors


def _tenth(value: Decimal) -> Decimal:
    return value.quantize(TENTH, rounding=ROUND_HALF_EVEN)


def nps(promoters: int, passives: int, detractors: int, z: Decimal = Z95) -> Nps:
    n = promoters + passives + detractors
    if n == 0:
        return Nps(promoters, passives, detractors, None, None, None)
    p, d = Decimal(promoters) / n, Decimal(detractors) / n
    score = 100 * (p - d)
    if n < 2:
        return Nps(promoters, passives, detractors, _tenth(score), None, None)
    variance = (p + d - (p - d) ** 2) / n
    reach = z * 100 * variance.sqrt()
    low, high = max(score - reach, Decimal(-100)), min(score + reach, Decimal(100))
    return Nps(promoters, passives, detractors, _tenth(score), _tenth(low), _tenth(high))


def nps_of(scores) -> Nps:
    """The NPS of a list of 0–10 answers."""
    groups = [nps_group(int(s)) for s in scores]
    return nps(*(groups.count(g) for g in NpsGroup.ALL))


def shown(count: int, anonymous: bool) -> bool:
    """Whether a group of `count` answers may be shown: always, unless the survey is anonymous
    and the group is small enough to point at a person."""
    return not anonymous or count >= MIN_ANONYMOUS_GROUP
