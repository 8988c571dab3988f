"""``Retry-After`` as seconds to wait, whichever form the server used (RFC 9110 §10.2.3)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

# A server asking for more than a day is taken to mean a day: an absurd value (1e12, inf) must not
# overflow a datetime or park work for ever.
LONGEST_SECONDS = 86_400.0


def retry_after_of(response: httpx.Response, default: float = 60.0) -> float:
    """Delay-seconds or an HTTP date; ``default`` when the header is absent or unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        seconds = (moment - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return default
    return min(LONGEST_SECONDS, max(0.0, seconds))
