"""What PostgreSQL can store, decided before it is asked.

PostgreSQL refuses NUL characters in text, Python cannot encode an unpaired surrogate (a JSON
``"\\ud800"`` escape) as UTF-8, an ``integer`` column stops at 2**31 - 1, and a time zone offset can push
a date past year 1 or 9999. Inputs we own (our API) reject such values with a clear 422 naming the
field; inputs from a platform (a webhook) are repaired instead, because refusing them would lose the
customer's message over one bad character.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

INT32_MAX = 2**31 - 1
# For query parameters (a pattern shows in the OpenAPI document, so clients and fuzzers see the rule).
NO_NUL_PATTERN = r"^[^\x00]+$"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"
# Plausible message times: anything outside is a broken clock or a broken payload.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def storable_text(value: str) -> str:
    """For validators (pydantic ``AfterValidator``): ``value`` unchanged, or ValueError."""
    if _UNSTORABLE.search(value):
        raise ValueError("must not contain NUL (U+0000) or unpaired surrogates (U+D800-U+DFFF)")
    return value


def repaired_text(value: str) -> str:
    """``value`` with NUL and unpaired surrogates replaced by U+FFFD, as a decoder does with bad bytes."""
    return _UNSTORABLE.sub(REPLACEMENT, value)


def plausible_time(value: datetime) -> datetime:
    """For validators: an aware time between 1970 and 2200, in UTC; ValueError otherwise."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a UTC offset")
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("is out of range") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"must be between {EARLIEST:%Y} and {LATEST:%Y}")
    return utc
