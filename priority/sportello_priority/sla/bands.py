"""Priority bands: the coarse levels an SLA policy sets targets for.

The priority score runs 0..100 (see ``scorer``). A band is the score's quarter, from the top:
urgent >= 75, high >= 50, normal >= 25, low below 25. Out-of-range scores land in the end bands.
"""

from __future__ import annotations

import math
from typing import Literal

Band = Literal["urgent", "high", "normal", "low"]
BANDS: tuple[Band, ...] = ("urgent", "high", "normal", "low")
BAND_FLOORS: tuple[tuple[Band, float], ...] = (("urgent", 75.0), ("high", 50.0), ("normal", 25.0))


def band_of(priority: float) -> Band:
    if math.isnan(priority):
        raise ValueError("priority is NaN")
    for band, floor in BAND_FLOORS:
        if priority >= floor:
            return band
    return "low"
