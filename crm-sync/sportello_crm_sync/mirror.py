"""The CRM mirror's rules: which bus events become history in the CRM, and the customer picture
a contact upsert sends.

Handlers only queue jobs (lane = the customer, so one customer's history reaches the CRM in the
order it happened, whatever the CRM's outages); ``crm_sink`` makes the calls. A merged customer's
later history goes to the survivor's contact; the CRM's own contacts are not merged (CRMs merge
differently, and irreversibly; the survivor's contact is upserted with every identity instead).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sportello.contracts import (
    ConversationAssigned,
    ConversationStatusChanged,
    CrmSynced,
    CustomerMerged,
    CustomerUnmerged,
    CustomerUpdated,
    Envelope,
    MessageReceived,
)
from sportello.db import Tx
from sportello_crm_sync.adapters import HistoryEntry
from sportello_crm_sync.repository import CrmQueries, JobQueries

_STATUS_SUMMARY = {
    "resolved": "Resolved",
    "reopened_by_customer": "Reopened by the customer",
    "reopened_by_agent": "Reopened by an agent",
    "continued_in_private": "Continued in a private channel",
    "snoozed": "Snoozed by an agent",
    "unsnoozed_by_customer": "Woken by the customer's message",
    "unsnoozed_by_agent": "Woken by an agent",
    "snooze_ended": "Woken: the snooze ended",
}


def lane_of(customer_id: uuid.UUID) -> str:
    return f"crm:{customer_id}"


async def on_message(tx: Tx, event: MessageReceived, envelope: Envelope, crm: str | None) -> None:
    if crm is None:
        # No CRM configured: acknowledged at once so the pipeline's consumers are not left waiting.
        await tx.outbox.add(
            CrmSynced(message_id=event.message_id, customer_id=event.customer_id, crm="none",
                      crm_contact_id=None, crm_interaction_id=None, status="not_configured"),
            subject=str(event.conversation_id))
        return
    direction = "Inbound" if event.direction == "inbound" else "Outbound"
    entry = HistoryEntry(
        key=str(envelope.id), kind="message", conversation_id=event.conversation_id,
        occurred_at=event.sent_at, summary=f"{direction} {event.channel} message",
        channel=event.channel, direction=event.direction, text=event.text,
        message_id=event.message_id, subject=event.subject)
    fallback = {"display_name": event.author.display_name,
                "identities": [{"platform": event.channel, "external_id": event.author.id,
                                "handle": event.author.handle}]
                if event.direction == "inbound" else []}
    await _queue_history(tx, event.customer_id, entry, fallback,
                         synced={"conversation_id": str(event.conversation_id)})


async def on_assigned(tx: Tx, event: ConversationAssigned, envelope: Envelope, crm: str | None) -> None:
    if crm is None:
        return
    entry = HistoryEntry(
        key=str(envelope.id), kind="assignment", conversation_id=event.conversation_id,
        occurred_at=event.assigned_at,
        summary=f"Assigned to {event.agent.name} ({event.agent.team}): {event.reason}")
    await _queue_history(tx, event.customer_id, entry, None)


async def on_status(tx: Tx, event: ConversationStatusChanged, envelope: Envelope,
                    crm: str | None) -> None:
    if crm is None:
        return
    entry = HistoryEntry(
        key=str(envelope.id), kind="status", conversation_id=event.conversation_id,
        occurred_at=event.at, summary=_STATUS_SUMMARY.get(event.reason, event.reason),
        conversation_status=event.status)
    await _queue_history(tx, event.customer_id, entry, None)


async def on_customer(tx: Tx, event: CustomerUpdated, envelope: Envelope, crm: str | None) -> None:
    identities = [identity.model_dump(mode="json") for identity in event.identities]
    kept = await CrmQueries(tx.session).keep_customer(event.customer_id, event.display_name,
                                                       identities, event.sequence)
    if kept and crm is not None:
        await _queue_contact(tx, event.customer_id, str(envelope.id))


async def on_merged(tx: Tx, event: CustomerMerged, envelope: Envelope, crm: str | None) -> None:
    queries = CrmQueries(tx.session)
    merged = await queries.customer(event.merged_customer_id)
    await queries.set_merged_into(event.merged_customer_id, event.customer_id,
                                  merged["display_name"] if merged else "")
    survivor = await queries.customer(event.customer_id)
    if survivor is not None:
        moved = [identity.model_dump(mode="json") for identity in event.identities_moved]
        known = {(i["platform"], i["external_id"]) for i in survivor["identities"]}
        identities = survivor["identities"] + [i for i in moved
                                               if (i["platform"], i["external_id"]) not in known]
        await queries.keep_customer(event.customer_id, survivor["display_name"], identities,
                                    max(survivor["sequence"], event.sequence))
    if crm is not None:
        await _queue_contact(tx, event.customer_id, str(envelope.id))


async def on_unmerged(tx: Tx, event: CustomerUnmerged, envelope: Envelope, crm: str | None) -> None:
    queries = CrmQueries(tx.session)
    await queries.set_merged_into(event.restored_customer_id, None)
    survivor = await queries.customer(event.customer_id)
    restored = [identity.model_dump(mode="json") for identity in event.identities_restored]
    if survivor is not None:
        gone = {(i["platform"], i["external_id"]) for i in restored}
        await queries.keep_customer(
            event.customer_id, survivor["display_name"],
            [i for i in survivor["identities"] if (i["platform"], i["external_id"]) not in gone],
            max(survivor["sequence"], event.sequence))
    if crm is not None:
        # Lanes locked in one order (by customer id), like every transaction that takes two.
        for customer_id in sorted((event.customer_id, event.restored_customer_id), key=str):
            await _queue_contact(tx, customer_id, f"{envelope.id}:{customer_id}")


async def _queue_history(tx: Tx, customer_id: uuid.UUID, entry: HistoryEntry,
                         fallback: dict[str, Any] | None,
                         synced: dict[str, Any] | None = None) -> None:
    """Queue one entry on the lane of the customer whose contact holds it (the survivor)."""
    target = await CrmQueries(tx.session).survivor_of(customer_id)
    payload = {"customer_id": str(target), "original_customer_id": str(customer_id),
               "entry": _entry_json(entry), "fallback": fallback, "synced": synced}
    await JobQueries(tx.session).enqueue(sink="crm", lane=lane_of(target), key=entry.key,
                                         kind="history", payload=payload)


async def _queue_contact(tx: Tx, customer_id: uuid.UUID, key: str) -> None:
    await JobQueries(tx.session).enqueue(sink="crm", lane=lane_of(customer_id), key=f"contact:{key}",
                                         kind="contact", payload={"customer_id": str(customer_id)})


def _entry_json(entry: HistoryEntry) -> dict[str, Any]:
    return {"key": entry.key, "kind": entry.kind, "conversation_id": str(entry.conversation_id),
            "occurred_at": entry.occurred_at.isoformat(), "summary": entry.summary,
            "conversation_status": entry.conversation_status, "channel": entry.channel,
            "direction": entry.direction, "text": entry.text,
            "message_id": str(entry.message_id) if entry.message_id else None,
            "subject": entry.subject}


def entry_of(data: dict[str, Any]) -> HistoryEntry:
    return HistoryEntry(
        key=data["key"], kind=data["kind"], conversation_id=uuid.UUID(data["conversation_id"]),
        occurred_at=datetime.fromisoformat(data["occurred_at"]), summary=data["summary"],
        conversation_status=data["conversation_status"], channel=data["channel"],
        direction=data["direction"], text=data["text"],
        message_id=uuid.UUID(data["message_id"]) if data["message_id"] else None,
        subject=data["subject"])
