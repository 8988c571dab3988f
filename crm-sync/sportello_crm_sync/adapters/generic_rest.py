"""A generic REST CRM over HTTP/JSON.

Wire protocol (``{base}`` is ``SPORTELLO_CRM_URL``; every request carries
``Authorization: Bearer <SPORTELLO_CRM_TOKEN>`` when a token is configured):

``PUT {base}/contacts/{external_ref}``
    Body ``{"external_ref": str, "display_name": str, "identities": [{"channel": str,
    "handle": str}]}``; ``external_ref`` is Sportello's customer id, so the call is an idempotent
    upsert. Answers ``200`` (updated) or ``201`` (created) with ``{"id": "<contact id>"}``.

``POST {base}/contacts/{contact_id}/interactions``
    Header ``Idempotency-Key: <event id>``; body ``{"channel": str, "direction": "inbound" |
    "outbound", "text": str, "occurred_at": ISO-8601, "conversation_id": uuid,
    "message_id": uuid}``.
    Answers ``201`` with ``{"id": "<interaction id>"}``; a repeated key answers the original
    interaction instead of appending again. ``404`` means the contact does not exist.

Failures: connection errors, timeouts, ``429`` and ``5xx`` raise ``TransientError`` (retried until
the CRM is back); any other non-2xx status, or a 2xx without an ``id``, raises ``PermanentError``
(dead-lettered with the status and the start of the body).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from sportello.errors import PermanentError, TransientError
from sportello_crm_sync.adapters.base import ContactNotFound, CrmAdapter, Customer, Interaction

_BODY_EXCERPT = 300


class GenericRestCrm(CrmAdapter):
    name = "generic_rest"

    def __init__(self, base_url: str, token: SecretStr, timeout_seconds: float,
                 *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        headers = {"Accept": "application/json"}
        secret = token.get_secret_value()
        if secret:
            # Only in the client's headers: never in an exception message, a log line or a repr.
            headers["Authorization"] = f"Bearer {secret}"
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def upsert_contact(self, customer: Customer) -> str:
        body = {
            "external_ref": customer.external_ref,
            "display_name": customer.display_name,
            "identities": [{"channel": i.channel, "handle": i.handle}
                           for i in customer.identities],
        }
        response = await self._send("PUT", f"/contacts/{quote(customer.external_ref, safe='')}",
                                    json=body)
        return _id_of(response)

    async def append_interaction(
        self, contact_id: str, interaction: Interaction, idempotency_key: str
    ) -> str:
        body = {
            "channel": interaction.channel,
            "direction": interaction.direction,
            "text": interaction.text,
            "occurred_at": interaction.occurred_at.isoformat(),
            "conversation_id": str(interaction.conversation_id),
            "message_id": str(interaction.message_id),
        }
        path = f"/contacts/{quote(contact_id, safe='')}/interactions"
        response = await self._send("POST", path, json=body,
                                    headers={"Idempotency-Key": idempotency_key})
        return _id_of(response)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise TransientError(f"CRM {method} {path} timed out") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"CRM {method} {path} unreachable: {exc!r}") from exc
        status = response.status_code
        if response.is_success:
            return response
        reason = f"CRM {method} {path} answered {status}: {response.text[:_BODY_EXCERPT]}"
        if status == 429 or status >= 500:
            raise TransientError(reason)
        if status == 404 and method == "POST":
            raise ContactNotFound(reason)
        raise PermanentError(reason)


def _id_of(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str | int):
        raise PermanentError(
            f"CRM {response.request.method} {response.request.url.path} answered "
            f"{response.status_code} without an id: {response.text[:_BODY_EXCERPT]}"
        )
    return str(payload["id"])
