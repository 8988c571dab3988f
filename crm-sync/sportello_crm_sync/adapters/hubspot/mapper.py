"""Sportello's records as HubSpot payloads, and HubSpot's answers as ids. Pure functions, no I/O."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sportello.errors import PermanentError
from sportello_crm_sync.adapters.base import Customer, HistoryEntry, split_name

# Custom properties the portal must define (Settings → Properties). The contact one is a unique-value
# property, so HubSpot itself refuses a second contact for one Sportello customer (409).
CUSTOMER_ID = "sportello_customer_id"
EVENT_ID = "sportello_event_id"
CONVERSATION_ID = "sportello_conversation_id"

NOTE_TO_CONTACT = 202  # HUBSPOT_DEFINED association type "note to contact"
NOTE_BODY_LIMIT = 65_536  # hs_note_body is limited to 65,536 characters
SUMMARY_LIMIT = 1_000  # one readable line; the rest of the room is for the message
_TRUNCATED = "…"


def contact_properties(customer: Customer) -> dict[str, str]:
    # Only what Sportello knows: a property left out keeps what a salesperson typed in HubSpot.
    first, last = split_name(customer.display_name)
    properties = {CUSTOMER_ID: customer.external_ref}
    if first:
        properties["firstname"] = first
    if last:
        properties["lastname"] = last
    if customer.email:
        properties["email"] = customer.email
    if customer.phone:
        properties["phone"] = customer.phone
    return properties


def search_by(property_name: str, value: str) -> dict[str, Any]:
    """A search for the objects whose ``property_name`` equals ``value`` (one is all we need)."""
    return {
        "filterGroups": [{"filters": [{"propertyName": property_name, "operator": "EQ", "value": value}]}],
        "properties": [property_name],
        "limit": 1,
    }


def hs_timestamp(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds, one of the two forms HubSpot documents for ``hs_timestamp``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # Sportello stores UTC; a naive time is UTC by contract
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def note_body(entry: HistoryEntry) -> str:
    """The note as a person reads it on the timeline: the summary in bold, then the message text.

    ``hs_note_body`` is rendered as HTML, so everything a customer wrote is escaped.
    """
    head = f"<p><strong>{_escaped_within(entry.summary, SUMMARY_LIMIT)}</strong></p>"
    if not entry.text:
        return head
    budget = NOTE_BODY_LIMIT - len(head) - len("<p></p>")
    return f"{head}<p>{_escaped_within(entry.text, budget)}</p>"


def note_properties(entry: HistoryEntry) -> dict[str, str]:
    return {
        "hs_timestamp": hs_timestamp(entry.occurred_at),
        "hs_note_body": note_body(entry),
        EVENT_ID: entry.key,
        CONVERSATION_ID: str(entry.conversation_id),
    }


def note_associations(contact_id: str) -> list[dict[str, Any]]:
    return [{"to": {"id": contact_id},
             "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_CONTACT}]}]


def first_id(search_answer: Any) -> str | None:
    """The id of the first search result, None when nothing matched."""
    results = search_answer.get("results") if isinstance(search_answer, dict) else None
    if not isinstance(results, list):
        raise PermanentError(f"HubSpot search answered without results: {str(search_answer)[:200]}")
    return id_of(results[0]) if results else None


def id_of(answer: Any) -> str:
    if not isinstance(answer, dict) or not isinstance(answer.get("id"), str | int):
        raise PermanentError(f"HubSpot answered without an id: {str(answer)[:200]}")
    return str(answer["id"])


def names_missing_object(status: int, category: str | None, message: str,
                         context: Mapping[str, Any]) -> bool:
    """Whether HubSpot refused because an associated object (our contact) does not exist.

    HubSpot answers a create whose association points at a missing record with a 400
    ``VALIDATION_ERROR`` whose message speaks of invalid associations or whose ``context`` lists the
    ``INVALID_OBJECT_IDS``; some endpoints answer 404 (``OBJECT_NOT_FOUND``) instead.
    """
    if status == 404 or category == "OBJECT_NOT_FOUND":
        return True
    if status != 400 or category != "VALIDATION_ERROR":
        return False
    keys = " ".join(str(key) for key in context).upper()
    return "association" in message.lower() or "INVALID_OBJECT_ID" in keys or "OBJECT_NOT_FOUND" in keys


def _escaped_within(text: str, budget: int) -> str:
    """``text`` HTML-escaped, line breaks kept, cut (never inside an entity) to ``budget`` characters."""
    escaped = html.escape(text).replace("\n", "<br>")
    if len(escaped) <= budget:
        return escaped
    pieces: list[str] = []
    room = budget - len(_TRUNCATED)
    for char in text:
        piece = "<br>" if char == "\n" else html.escape(char)
        room -= len(piece)
        if room < 0:
            break
        pieces.append(piece)
    return "".join(pieces) + _TRUNCATED
