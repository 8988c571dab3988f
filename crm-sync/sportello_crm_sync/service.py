"""crm-sync's rules: one contact per customer, one CRM interaction per message, then CrmSynced."""

from __future__ import annotations

import uuid
from typing import Literal

import structlog

from sportello.contracts import CrmSynced, MessageReceived
from sportello.db import Tx
from sportello_crm_sync.adapters import ContactNotFound, CrmAdapter, Customer, Identity, Interaction
from sportello_crm_sync.repository import CrmSyncRepository

log = structlog.get_logger(__name__)


async def mirror_message(tx: Tx, message: MessageReceived, event_id: uuid.UUID,
                         crm: CrmAdapter | None) -> None:
    """Mirror one message into ``crm`` (None: no CRM configured) and announce it.

    The CRM calls happen inside the caller's transaction on purpose: if they fail, the transaction
    (with its inbox row) rolls back and the bus redelivers; if the commit fails after the CRM
    accepted the interaction, the redelivery repeats the calls, which is safe because the contact
    upsert is keyed by our customer id and the interaction by the event id (Idempotency-Key).
    Holding the transaction a few seconds at most (the adapter's timeout) is the price of that.
    """
    if crm is None:
        await _announce(tx, message, crm="none", contact_id=None, interaction_id=None,
                        status="not_configured")
        return

    repo = CrmSyncRepository(tx.session)
    if await repo.is_mirrored(message.message_id):
        # The same message under another event id (a replay upstream): the inbox cannot see that,
        # and the CRM's idempotency key differs, so only our record prevents a second append.
        log.info("crm.already_mirrored", message_id=str(message.message_id))
        return

    contact_id = await repo.contact_of(message.customer_id, crm.name)
    linked = contact_id is not None
    if contact_id is None:
        contact_id = await _upsert_contact(repo, crm, message)
    interaction = _interaction_of(message)
    try:
        interaction_id = await crm.append_interaction(contact_id, interaction, str(event_id))
    except ContactNotFound:
        if not linked:
            raise  # the contact was created a moment ago: the CRM is inconsistent, do not loop
        # Our stored link went stale (the contact was deleted or merged in the CRM): upsert again
        # rather than dead-lettering every later message of this customer.
        log.warning("crm.contact_relinked", customer_id=str(message.customer_id), crm=crm.name)
        contact_id = await _upsert_contact(repo, crm, message)
        interaction_id = await crm.append_interaction(contact_id, interaction, str(event_id))
    await repo.record_interaction(message.message_id, crm.name, interaction_id)
    # No message text in logs: it is customer content.
    log.info("crm.synced", message_id=str(message.message_id),
             customer_id=str(message.customer_id), crm=crm.name, contact_id=contact_id)
    await _announce(tx, message, crm=crm.name, contact_id=contact_id,
                    interaction_id=interaction_id, status="synced")


async def _upsert_contact(repo: CrmSyncRepository, crm: CrmAdapter,
                          message: MessageReceived) -> str:
    customer = Customer(
        external_ref=str(message.customer_id),
        display_name=message.author.display_name,
        identities=(Identity(channel=message.channel, handle=message.author.id),),
    )
    contact_id = await crm.upsert_contact(customer)
    await repo.link_contact(message.customer_id, crm.name, contact_id)
    return contact_id


def _interaction_of(message: MessageReceived) -> Interaction:
    return Interaction(
        channel=message.channel,
        direction=message.direction,
        text=message.text,
        occurred_at=message.sent_at,
        conversation_id=message.conversation_id,
        message_id=message.message_id,
    )


async def _announce(tx: Tx, message: MessageReceived, *, crm: str, contact_id: str | None,
                    interaction_id: str | None,
                    status: Literal["synced", "not_configured"]) -> None:
    await tx.outbox.add(
        CrmSynced(message_id=message.message_id, customer_id=message.customer_id, crm=crm,
                  crm_contact_id=contact_id, crm_interaction_id=interaction_id,
                  status=status),
        subject=str(message.conversation_id),
    )
