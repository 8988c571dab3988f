"""The log-scale histogram: bins and percentiles."""

from __future__ import annotations

import pytest

from sportello_gateway.kpi.histogram import BINS, bin_of, bounds, percentile


@pytest.mark.parametrize("seconds", [0, 0.3, 1, 1.1, 59, 60, 61, 720, 3600, 86400, 1e7])
def test_a_duration_falls_in_its_bin(seconds: float) -> None:
    low, high = bounds(bin_of(seconds))
    assert low <= seconds < high


def test_huge_durations_share_the_last_bin() -> None:
    assert bin_of(1e12) == bin_of(1e15) == BINS - 1


def test_percentiles() -> None:
    assert percentile({}, 0.5) is None
    # 100 durations of 60 s: every percentile inside 60 s's bin.
    low, high = bounds(bin_of(60))
    assert low <= (percentile({bin_of(60): 100}, 0.5) or 0) <= high
    # Half at 10 s, half at 1000 s: p90 among the long ones, p10 among the short ones.
    counts = {bin_of(10): 50, bin_of(1000): 50}
    assert bounds(bin_of(1000))[0] <= (percentile(counts, 0.9) or 0) <= bounds(bin_of(1000))[1]
    assert bounds(bin_of(10))[0] <= (percentile(counts, 0.1) or 0) <= bounds(bin_of(10))[1]
