"""Geometry for the uplift chart, drawn as inline SVG by templates/campaigns/results.html.

Coordinates are in a 0–100 wide box; the SVG stretches to its column. Right-to-left pages get
the geometry mirrored here (x becomes 100 - x: bars grow from the right edge, a positive
difference lies left of zero), never a CSS flip, so nothing drawn is ever read backwards.
"""

from dataclasses import dataclass

from messaging.campaigns.uplift import Uplift

WIDTH = 100.0


@dataclass(frozen=True)
class Bars:
    treated: float  # bar lengths, 0–100
    control: float
    treated_x: float  # where each bar starts: 0, or its length from the right edge in rtl
    control_x: float


@dataclass(frozen=True)
class Interval:
    zero: float  # where 0 falls, 0–100
    difference: float
    low: float | None
    high: float | None


def _start(length: float, rtl: bool) -> float:
    return WIDTH - length if rtl else 0.0


def bars(result: Uplift, rtl: bool = False) -> Bars:
    treated, control = result.treated.mean or 0.0, result.control.mean or 0.0
    scale = max(treated, control)
    if scale <= 0:
        treated = control = 0.0
    else:
        treated, control = 100 * treated / scale, 100 * control / scale
    return Bars(treated, control, _start(treated, rtl), _start(control, rtl))


def interval(result: Uplift, rtl: bool = False) -> Interval | None:
    """The difference and its interval on an axis centred on zero, with a 5 % margin; more is
    towards the reading direction's end (the right, or the left in rtl)."""
    if result.difference is None:
        return None
    ends = [abs(result.difference)] + [abs(v) for v in (result.low, result.high) if v is not None]
    reach = max(ends) or 1.0
    sign = -1 if rtl else 1

    def place(value):
        return None if value is None else 50 + sign * 45 * value / reach

    return Interval(50.0, place(result.difference), place(result.low), place(result.high))
