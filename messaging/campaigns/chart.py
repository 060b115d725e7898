"""Geometry for the uplift chart, drawn as inline SVG by templates/campaigns/_uplift_chart.html.

Coordinates are in a 0–100 wide box; the SVG stretches to its column, and right-to-left
pages mirror it with CSS (it holds no text: labels and numbers are HTML beside it).
"""

from dataclasses import dataclass

from messaging.campaigns.uplift import Uplift


@dataclass(frozen=True)
class Bars:
    treated: float  # bar lengths, 0–100
    control: float


@dataclass(frozen=True)
class Interval:
    zero: float  # where 0 falls, 0–100
    difference: float
    low: float | None
    high: float | None


def bars(result: Uplift) -> Bars:
    treated, control = result.treated.mean or 0.0, result.control.mean or 0.0
    scale = max(treated, control)
    if scale <= 0:
        return Bars(0.0, 0.0)
    return Bars(100 * treated / scale, 100 * control / scale)


def interval(result: Uplift) -> Interval | None:
    """The difference and its interval on an axis centred on zero, with a 5 % margin."""
    if result.difference is None:
        return None
    ends = [abs(result.difference)] + [abs(v) for v in (result.low, result.high) if v is not None]
    reach = max(ends) or 1.0

    def place(value):
        return None if value is None else 50 + 45 * value / reach

    return Interval(50.0, place(result.difference), place(result.low), place(result.high))
