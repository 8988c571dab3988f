"""Turning bus events into queued webhooks, one job per subscription (inside the event's
transaction, so an accepted event is never lost between the bus and the queue)."""

from __future__ import annotations

import uuid

from sportello.contracts import ConversationPrioritised, Envelope
from sportello.db import Tx
from sportello_crm_sync.repository import JobQueries, WebhookQueries
from sportello_crm_sync.webhooks.catalogue import (
    SLA_WARNING_STAGES,
    Webhook,
    body,
    webhooks_of,
)

# webhook-id values are derived from the job key, so the same event to the same subscription has
# the same id whichever replica queued it, and redeliveries keep it.
_ID_NAMESPACE = uuid.UUID("6b1f4f64-8a63-4e55-9f7b-2f3c5f1f6a10")


async def fan_out(tx: Tx, envelope: Envelope) -> int:
    """Queue the webhooks of one bus event for every subscription that wants them."""
    queued = 0
    for webhook in webhooks_of(envelope.data, envelope.occurred_at):
        queued += await _queue(tx, webhook, envelope.id)
    return queued


async def on_prioritised(tx: Tx, event: ConversationPrioritised, envelope: Envelope) -> int:
    """``sla.warning`` / ``sla.breach`` once per stage a conversation enters (not per recompute)."""
    stage = event.sla.stage if event.sla is not None else None
    previous = await WebhookQueries(tx.session).swap_sla_stage(
        event.conversation_id, stage or "none", event.sla.deadline if event.sla else None,
        event.sequence)
    if previous is False or stage is None or stage == previous:
        return 0
    if stage == "breached":
        kind = "sla.breach"
    elif stage in SLA_WARNING_STAGES and previous not in SLA_WARNING_STAGES:
        kind = "sla.warning"  # at_risk then critical is one warning, not two
    else:
        return 0
    assert event.sla is not None
    data = {"conversation_id": str(event.conversation_id), "customer_id": str(event.customer_id),
            "stage": stage, "deadline": event.sla.deadline.isoformat(),
            "sla": event.sla.model_dump(mode="json"), "priority": event.priority}
    return await _queue(tx, Webhook(kind, event.conversation_id, body(kind, event.at, data)),
                        envelope.id)


async def _queue(tx: Tx, webhook: Webhook, event_id: uuid.UUID) -> int:
    jobs = JobQueries(tx.session)
    queued = 0
    for subscription_id in await WebhookQueries(tx.session).subscribed_to(webhook.type):
        key = f"{subscription_id}:{event_id}:{webhook.type}"
        queued += await jobs.enqueue(
            sink="webhook", lane=f"{subscription_id}:{webhook.subject}", key=key, kind=webhook.type,
            payload=webhook.body, subscription_id=subscription_id,
            message_id=f"msg_{uuid.uuid5(_ID_NAMESPACE, key).hex}") is not None
    return queued
