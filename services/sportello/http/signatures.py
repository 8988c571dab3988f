"""Standard Webhooks signatures (https://www.standardwebhooks.com), used both ways.

``webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">``, several
space-separated signatures allowed (secret rotation: any one valid is enough). Secrets are ``whsec_``
followed by base64 key bytes; a secret without the prefix is used as raw UTF-8 bytes. A timestamp more than
``tolerance`` seconds away from now is refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

from sportello.http.problems import Forbidden, Unauthorized

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
DEFAULT_TOLERANCE_SECONDS = 300


def _key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_"))
    return secret.encode()


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def sign(secrets: Sequence[str], webhook_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """Headers for an outgoing request, signed with every given secret (rotation)."""
    moment = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(moment),
        "webhook-signature": " ".join(signature(secret, webhook_id, moment, body) for secret in secrets),
    }


def verify(secrets: Sequence[str], headers: Mapping[str, str], body: bytes, *,
           tolerance: int = DEFAULT_TOLERANCE_SECONDS, now: float | None = None) -> str:
    """Check an incoming request; returns its webhook-id. Missing headers → 401, bad ones → 403."""
    missing = [name for name in HEADERS if not headers.get(name)]
    if missing:
        raise Unauthorized(f"Missing {', '.join(missing)} header(s).")
    webhook_id, stamp, given = (headers[name] for name in HEADERS)
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise Forbidden("webhook-timestamp is not a Unix time in seconds.") from exc
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise Forbidden("webhook-timestamp is too far from the current time.")
    offered = given.split()
    for secret in secrets:
        expected = signature(secret, webhook_id, timestamp, body)
        if any(hmac.compare_digest(candidate, expected) for candidate in offered):
            return webhook_id
    raise Forbidden("webhook-signature does not match the request body.")
