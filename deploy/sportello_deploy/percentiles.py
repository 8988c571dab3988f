"""The percentile the benchmarks report: the nearest order statistic (no interpolation), so every
figure printed is a latency that was measured."""

from __future__ import annotations

from collections.abc import Sequence


def nearest_rank(values: Sequence[float], q: float) -> float:
    """q in 0..1."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]
