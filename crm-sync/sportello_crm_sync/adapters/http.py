"""The HTTP layer every CRM API client stands on: one pooled client, failures mapped once.

Connection errors, timeouts, ``429`` and ``5xx`` raise :class:`CrmUnavailable` (with the server's
``Retry-After`` when it sent one); ``404`` raises :class:`NotFoundAnswer` so a client can decide
whether that is "no such contact" or a rejection; any other non-2xx raises ``PermanentError``
with the status and the start of the body. Credentials live only in the client's headers (or the
token a client sets), never in a message, a log line or a repr.
"""

from __future__ import annotations

from typing import Any

import httpx

from sportello.errors import PermanentError
from sportello.http.retry_after import retry_after_of
from sportello_crm_sync.adapters.base import CrmUnavailable

BODY_EXCERPT = 300


class NotFoundAnswer(PermanentError):
    """The CRM answered 404."""


async def refusal_body(response: httpx.Response) -> tuple[bool, Any]:
    """For a vendor's response hook: (True, decoded JSON or None) when ``response`` is a refusal
    worth reading (a 4xx other than 404 and 429, which CrmHttp classifies by status alone)."""
    status = response.status_code
    if not 400 <= status < 500 or status in (404, 429):
        return False, None
    await response.aread()
    try:
        return True, response.json()
    except ValueError:
        return True, None


class CrmHttp:
    def __init__(self, base_url: str, *, timeout_seconds: float, headers: dict[str, str] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Accept": "application/json", **(headers or {})},
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
        )

    def authorise(self, token: str) -> None:
        """Use ``token`` as the bearer credential from now on (e.g. after an OAuth exchange)."""
        self.client.headers["Authorization"] = f"Bearer {token}"

    async def aclose(self) -> None:
        await self.client.aclose()

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The answer when 2xx; otherwise the mapped exception."""
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise CrmUnavailable(f"CRM {method} {path} timed out") from exc
        except httpx.TransportError as exc:
            raise CrmUnavailable(f"CRM {method} {path} unreachable: {type(exc).__name__}") from exc
        if response.is_success:
            return response
        status = response.status_code
        reason = f"CRM {method} {path} answered {status}: {response.text[:BODY_EXCERPT]}"
        if status == 429 or status >= 500:
            waited = retry_after_of(response, default=-1.0)
            raise CrmUnavailable(reason, retry_after=waited if waited >= 0 else None)
        if status == 404:
            raise NotFoundAnswer(reason)
        raise PermanentError(reason)

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """``send`` and decode; a 2xx whose body is not JSON is a ``PermanentError``."""
        response = await self.send(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentError(f"CRM {method} {path} answered {response.status_code} with "
                                 f"no JSON: {response.text[:BODY_EXCERPT]}") from exc
