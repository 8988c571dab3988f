"""HubSpot CRM API v3 over :class:`CrmHttp`: one method per documented endpoint, answers as decoded JSON.

HubSpot's error dialect is decoded here, once: a rejection (a 4xx other than 404 and 429, which
``CrmHttp`` already classifies) raises :class:`HubSpotError` carrying the documented ``category``,
``message`` and ``context`` fields, so the adapter can tell a conflict (409) or a missing associated
object from any other refusal without reading exception text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from sportello.errors import PermanentError
from sportello_crm_sync.adapters.http import BODY_EXCERPT, CrmHttp, refusal_body

ObjectType = Literal["contacts", "notes"]


class HubSpotError(PermanentError):
    """HubSpot refused the request: ``{"status": "error", "message", "category", "context", ...}``."""

    def __init__(self, reason: str, *, status: int, category: str | None = None, message: str = "",
                 context: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.category = category
        self.message = message
        self.context: Mapping[str, Any] = context or {}


class HubSpotClient:
    def __init__(self, base_url: str, token: SecretStr, timeout_seconds: float, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = CrmHttp(base_url, timeout_seconds=timeout_seconds, transport=transport)
        # A private app's access token is a static bearer token; it lives only in the client's headers.
        self._http.authorise(token.get_secret_value())
        self._http.client.event_hooks = {"request": [], "response": [_raise_rejection]}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def search(self, object_type: ObjectType, body: Mapping[str, Any]) -> Any:
        """``POST /crm/v3/objects/{objectType}/search`` → ``{"total", "results": [...], "paging"?}``."""
        return await self._http.json("POST", f"/crm/v3/objects/{object_type}/search", json=body)

    async def create(self, object_type: ObjectType, body: Mapping[str, Any]) -> Any:
        """``POST /crm/v3/objects/{objectType}`` with ``{"properties", "associations"?}`` → 201 object."""
        return await self._http.json("POST", f"/crm/v3/objects/{object_type}", json=body)

    async def update(self, object_type: ObjectType, object_id: str, body: Mapping[str, Any]) -> Any:
        """``PATCH /crm/v3/objects/{objectType}/{objectId}`` with ``{"properties"}`` → 200 object."""
        path = f"/crm/v3/objects/{object_type}/{quote(object_id, safe='')}"
        return await self._http.json("PATCH", path, json=body)


async def _raise_rejection(response: httpx.Response) -> None:
    """Response hook: turn HubSpot's refusals into :class:`HubSpotError` before ``CrmHttp`` maps them."""
    refused, payload = await refusal_body(response)
    if not refused:
        return  # success, or classified by CrmHttp (transient, not found)
    status = response.status_code
    fields = payload if isinstance(payload, dict) else {}
    category, message, context = fields.get("category"), fields.get("message"), fields.get("context")
    request = response.request
    # The path and HubSpot's own words only: the bearer token is in a header, never in either.
    raise HubSpotError(
        f"HubSpot {request.method} {request.url.path} answered {status}: {response.text[:BODY_EXCERPT]}",
        status=status,
        category=category if isinstance(category, str) else None,
        message=message if isinstance(message, str) else "",
        context=context if isinstance(context, dict) else None,
    )
