"""``Retry-After`` as seconds to wait, whichever form the server used (RFC 9110 §10.2.3)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx


def retry_after_of(response: httpx.Response, default: float = 60.0) -> float:
    """Delay-seconds or an HTTP date; ``default`` when the header is absent or unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        return max(0.0, (moment - datetime.now(UTC)).total_seconds())
