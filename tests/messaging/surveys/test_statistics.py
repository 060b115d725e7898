"""The NPS and its interval as plain functions: known values, edges, and the small-group rule."""

from decimal import Decimal

import pytest

from messaging.surveys.statistics import MIN_ANONYMOUS_GROUP, nps, nps_group, nps_of, shown


def test_nps_groups_follow_the_standard_bands():
    assert [nps_group(s) for s in range(11)] == ["detractor"] * 7 + ["passive"] * 2 + [
        "promoter"
    ] * 2


def test_nps_and_its_interval_for_known_counts():
    # 50 promoters, 30 passives, 20 detractors: NPS 30; Var = (0.5 + 0.2 − 0.3²) / 100 =
    # 0.0061, so the half-width is 1.959964 · 100 · √0.0061 = 15.3078…
    result = nps(50, 30, 20)
    assert result.answers == 100
    assert result.score == Decimal("30.0")
    assert (result.low, result.high) == (Decimal("14.7"), Decimal("45.3"))


def test_a_lopsided_sample_keeps_its_interval_within_the_scale():
    # 19 promoters and 1 detractor: NPS 90; Var = (0.95 + 0.05 − 0.81) / 20 = 0.0095, half-width
    # 19.10…, so the upper end would pass 100 and stops there.
    result = nps(19, 0, 1)
    assert result.score == Decimal("90.0")
    assert result.low == Decimal("70.9")
    assert result.high == Decimal("100")


def test_everyone_alike_has_no_spread():
    result = nps(0, 0, 12)
    assert (result.score, result.low, result.high) == (Decimal("-100.0"),) * 3


def test_no_answers_and_one_answer():
    assert nps(0, 0, 0).score is None
    one = nps(1, 0, 0)
    assert one.score == Decimal("100.0") and one.low is None and one.high is None


def test_nps_of_scores_counts_each_band():
    result = nps_of([10, 9, 8, 7, 6, 0, 3])
    assert (result.promoters, result.passives, result.detractors) == (2, 2, 3)
    assert result.score == Decimal("-14.3")


@pytest.mark.parametrize("count", range(0, 8))
def test_anonymous_groups_below_five_are_never_shown(count):
    assert shown(count, anonymous=False)
    assert shown(count, anonymous=True) is (count >= MIN_ANONYMOUS_GROUP)
