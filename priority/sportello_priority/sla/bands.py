"""Priority bands: the coarse levels an SLA policy sets targets for.

The priority score runs 0..100 (see ``scorer``). A band is the score's quarter, from the top:
urgent >= 75, high >= 50, normal >= 25, low below 25. Out-of-range scores land in the end bands.
The rule itself lives in the shared contracts (assignment applies it too).
"""

from __future__ import annotations

from typing import TypeAlias

from sportello.contracts.priority import BAND_FLOORS, PriorityBand, band_of

Band: TypeAlias = PriorityBand
BANDS: tuple[Band, ...] = ("urgent", "high", "normal", "low")

__all__ = ["BANDS", "BAND_FLOORS", "Band", "band_of"]
