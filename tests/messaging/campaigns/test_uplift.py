"""The uplift arithmetic on constructed numbers with a known answer."""

import math
import statistics

import pytest

from messaging.campaigns.chart import bars, interval
from messaging.campaigns.uplift import GroupStats, uplift


def test_group_stats_agree_with_the_statistics_module():
    values = [0, 1, 1, 2, 5, 0, 3]
    stats = GroupStats.of(values)
    assert stats.mean == pytest.approx(statistics.mean(values))
    assert stats.variance == pytest.approx(statistics.variance(values))


def test_difference_and_95_percent_interval_match_the_hand_computed_answer():
    # Treated: 2 claims per person on average, variance 2.5 (values 0..4, n=5, repeated 20×);
    # control: 1 per person, variance 0.5 (0, 1, 2, 1, 1 repeated 20×). n = 100 each.
    treated = GroupStats.of([0, 1, 2, 3, 4] * 20)
    control = GroupStats.of([0, 1, 2, 1, 1] * 20)
    result = uplift(treated, control)
    assert result.difference == pytest.approx(1.0)
    # Welch standard error: √(s²ₜ/nₜ + s²꜀/n꜀) with s² = Σ(x−x̄)²/(n−1).
    se = math.sqrt((200 / 99) / 100 + (40 / 99) / 100)
    assert result.low == pytest.approx(1.0 - 1.959964 * se, abs=1e-5)
    assert result.high == pytest.approx(1.0 + 1.959964 * se, abs=1e-5)
    assert (round(result.low, 3), round(result.high, 3)) == (0.695, 1.305)
    assert result.significant


def test_no_difference_is_not_significant_and_tiny_groups_give_no_interval():
    same = uplift(GroupStats.of([0, 1, 2] * 10), GroupStats.of([2, 1, 0] * 10))
    assert same.difference == 0 and same.low < 0 < same.high and not same.significant
    tiny = uplift(GroupStats.of([3]), GroupStats.of([1, 2]))
    assert tiny.difference == pytest.approx(1.5) and tiny.low is None
    empty = uplift(GroupStats.of([1, 2]), GroupStats.of([]))
    assert empty.difference is None


def test_the_chart_scales_bars_and_centres_the_interval_on_zero():
    result = uplift(GroupStats.of([0, 1, 2, 3, 4] * 20), GroupStats.of([0, 1, 2, 1, 1] * 20))
    assert bars(result).treated == 100 and bars(result).control == pytest.approx(50)
    geometry = interval(result)
    assert geometry.zero == 50
    assert 50 < geometry.low < geometry.difference < geometry.high <= 95


def test_the_chart_is_mirrored_by_its_geometry_for_right_to_left_readers():
    result = uplift(GroupStats.of([0, 1, 2, 3, 4] * 20), GroupStats.of([0, 1, 2, 1, 1] * 20))
    left_to_right, right_to_left = bars(result), bars(result, rtl=True)
    assert (left_to_right.treated_x, left_to_right.control_x) == (0, 0)
    # Bars end at the right edge and grow leftwards.
    assert right_to_left.treated_x == 0 and right_to_left.control_x == pytest.approx(50)
    assert right_to_left.treated == 100 and right_to_left.control == pytest.approx(50)
    geometry = interval(result, rtl=True)
    assert geometry.zero == 50
    # A positive difference lies ahead in the reading direction: left of zero.
    assert 5 <= geometry.high < geometry.difference < geometry.low < 50
    assert geometry.difference == pytest.approx(100 - interval(result).difference)
