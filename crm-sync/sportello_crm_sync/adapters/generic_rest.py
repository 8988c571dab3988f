"""A generic REST CRM over HTTP/JSON, for CRMs (or middleware) that implement this small protocol.

Wire protocol (``{base}`` is ``SPORTELLO_CRM_URL``; every request carries
``Authorization: Bearer <SPORTELLO_CRM_TOKEN>`` when a token is configured):

``PUT {base}/contacts/{external_ref}``
    Body ``{"external_ref": str, "display_name": str, "identities": [{"channel": str,
    "handle": str}]}``; ``external_ref`` is Sportello's customer id, so the call is an idempotent
    upsert. Answers ``200`` (updated) or ``201`` (created) with ``{"id": "<contact id>"}``.

``POST {base}/contacts/{contact_id}/interactions``
    Header ``Idempotency-Key: <entry key>``; body ``{"kind": "message" | "assignment" | "status",
    "summary": str, "conversation_status": "open" | "snoozed" | "resolved", "channel": str | null,
    "direction": "inbound" | "outbound" | null, "text": str | null, "occurred_at": ISO-8601,
    "conversation_id": uuid, "message_id": uuid | null}``.
    Answers ``201`` with ``{"id": "<interaction id>"}``; a repeated key answers the original
    interaction instead of appending again. ``404`` means the contact does not exist.

Failures follow :mod:`sportello_crm_sync.adapters.http` (429/5xx/timeouts are retried, honouring
``Retry-After``; other 4xx are refusals).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from sportello.errors import PermanentError
from sportello_crm_sync.adapters.base import ContactNotFound, CrmAdapter, Customer, HistoryEntry
from sportello_crm_sync.adapters.http import BODY_EXCERPT, CrmHttp, NotFoundAnswer


class GenericRestCrm(CrmAdapter):
    name = "generic_rest"

    def __init__(self, base_url: str, token: SecretStr, timeout_seconds: float,
                 *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.http = CrmHttp(base_url, timeout_seconds=timeout_seconds, transport=transport)
        if token.get_secret_value():
            self.http.authorise(token.get_secret_value())

    async def aclose(self) -> None:
        await self.http.aclose()

    async def upsert_contact(self, customer: Customer) -> str:
        body = {
            "external_ref": customer.external_ref,
            "display_name": customer.display_name,
            "identities": [{"channel": i.channel, "handle": i.handle} for i in customer.identities],
        }
        answer = await self.http.json("PUT", f"/contacts/{quote(customer.external_ref, safe='')}",
                                      json=body)
        return _id_of(answer, "PUT /contacts")

    async def append_history(self, contact_id: str, entry: HistoryEntry) -> str:
        body = {
            "kind": entry.kind,
            "summary": entry.summary,
            "conversation_status": entry.conversation_status,
            "channel": entry.channel,
            "direction": entry.direction,
            "text": entry.text,
            "occurred_at": entry.occurred_at.isoformat(),
            "conversation_id": str(entry.conversation_id),
            "message_id": str(entry.message_id) if entry.message_id else None,
        }
        path = f"/contacts/{quote(contact_id, safe='')}/interactions"
        try:
            answer = await self.http.json("POST", path, json=body,
                                          headers={"Idempotency-Key": entry.key})
        except NotFoundAnswer as exc:
            raise ContactNotFound(str(exc)) from exc
        return _id_of(answer, f"POST {path}")


def _id_of(answer: Any, call: str) -> str:
    if not isinstance(answer, dict) or not isinstance(answer.get("id"), str | int):
        raise PermanentError(f"CRM {call} answered without an id: {str(answer)[:BODY_EXCERPT]}")
    return str(answer["id"])
