"""Fixed log-scale histograms of durations, so percentiles come from summed bucket counts.

Bin 0 holds durations under one second; bin k (1..BINS-1) holds [2^((k-1)/4), 2^(k/4)) seconds, a
quarter-octave (19 %) wide, the last one everything from about 180 days on. The bins never change,
so histograms of any hours and dimensions add up bin by bin. The SQL expression in the repository
(``BIN_SQL``) and :func:`bin_of` must agree; a test checks that they do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

BINS = 100
STEPS_PER_OCTAVE = 4

# The same rule in SQL, for a duration in seconds named ``{seconds}``.
BIN_SQL = (
    "CASE WHEN {seconds} < 1 THEN 0 "
    f"ELSE LEAST({BINS - 1}, FLOOR(LN({{seconds}}) / LN(2) * {STEPS_PER_OCTAVE})::int + 1) END"
)


def bin_of(seconds: float) -> int:
    if seconds < 1:
        return 0
    return min(BINS - 1, math.floor(math.log(seconds) / math.log(2) * STEPS_PER_OCTAVE) + 1)


def bounds(index: int) -> tuple[float, float]:
    """The [low, high) seconds a bin holds."""
    if index == 0:
        return 0.0, 1.0
    return 2 ** ((index - 1) / STEPS_PER_OCTAVE), 2 ** (index / STEPS_PER_OCTAVE)


def percentile(counts: Mapping[int, float], q: float) -> float | None:
    """The q-quantile (0 < q < 1) of the durations counted per bin, interpolated inside its bin
    (linearly in bin 0, geometrically above, matching the log scale). None when empty."""
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = q * total
    seen = 0.0
    for index in sorted(counts):
        count = counts[index]
        if count <= 0:
            continue
        if seen + count >= rank:
            fraction = (rank - seen) / count
            low, high = bounds(index)
            if index == 0:
                return low + (high - low) * fraction
            return low * (high / low) ** fraction
        seen += count
    return bounds(max(counts))[1]  # only reached through rounding
