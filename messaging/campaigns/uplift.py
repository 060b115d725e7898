"""Uplift of a message: the treated group's mean against the control group's, with a 95 %
confidence interval for the difference. Plain arithmetic, no Flask, no database.

The interval uses Welch's standard error (each group keeps its own variance) with the normal
approximation: difference ± z·√(s²ₜ/nₜ + s²꜀/n꜀). Groups are summarised by count, sum and
sum of squares of integer values, which the database computes exactly for any size.
"""

import math
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True)
class GroupStats:
    n: int
    total: int
    sum_squares: int

    @classmethod
    def of(cls, values) -> "GroupStats":
        values = [int(v) for v in values]
        return cls(len(values), sum(values), sum(v * v for v in values))

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """The sample variance (n − 1), as statistics.variance gives it."""
        if self.n < 2:
            return None
        return (self.sum_squares - self.total * self.total / self.n) / (self.n - 1)


@dataclass(frozen=True)
class Uplift:
    treated: GroupStats
    control: GroupStats
    difference: float | None
    low: float | None
    high: float | None
    confidence: float

    @property
    def significant(self) -> bool:
        return self.low is not None and (self.low > 0 or self.high < 0)


def uplift(treated: GroupStats, control: GroupStats, confidence: float = 0.95) -> Uplift:
    if not treated.n or not control.n:
        return Uplift(treated, control, None, None, None, confidence)
    difference = treated.mean - control.mean
    if treated.variance is None or control.variance is None:
        return Uplift(treated, control, difference, None, None, confidence)
    error = math.sqrt(treated.variance / treated.n + control.variance / control.n)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    return Uplift(
        treated, control, difference, difference - z * error, difference + z * error, confidence
    )
