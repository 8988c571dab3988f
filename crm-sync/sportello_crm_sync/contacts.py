"""What the CRM tells us about a customer (tier, VIP, do-not-contact, owner) becomes
``CrmContactUpdated``, which priority uses to weigh the customer's conversations."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import structlog

from sportello.contracts import CrmContactUpdated
from sportello.db import Tx
from sportello.http.problems import InvalidRequest, NotFound
from sportello_crm_sync.repository import CrmQueries
from sportello_crm_sync.schemas import ContactUpdateIn, ContactUpdateOut

log = structlog.get_logger(__name__)


async def apply_update(tx: Tx, crm: str, update: ContactUpdateIn) -> ContactUpdateOut:
    queries = CrmQueries(tx.session)
    customer_id = await _customer_of(queries, crm, update)
    customer_id = await queries.survivor_of(customer_id)
    known = await queries.contact_picture(customer_id)  # locked: concurrent updates serialise
    if known is not None and known["updated_at"] >= update.updated_at:
        # An older (or repeated) update arriving late must not undo a newer one.
        return ContactUpdateOut(customer_id=customer_id, applied=False, sequence=known["sequence"])
    sequence = await queries.keep_contact_picture(
        customer_id, crm, tier=update.tier, vip=update.vip, do_not_contact=update.do_not_contact,
        owner=update.owner, updated_at=update.updated_at)
    await tx.outbox.add(
        CrmContactUpdated(customer_id=customer_id, crm=crm, tier=update.tier, vip=update.vip,
                          do_not_contact=update.do_not_contact, owner=update.owner,
                          sequence=sequence, at=datetime.now(UTC)),
        subject=str(customer_id))
    log.info("crm.contact_updated", customer_id=str(customer_id), crm=crm, sequence=sequence)
    return ContactUpdateOut(customer_id=customer_id, applied=True, sequence=sequence)


async def _customer_of(queries: CrmQueries, crm: str, update: ContactUpdateIn) -> uuid.UUID:
    if update.customer_id is not None:
        return update.customer_id
    if update.contact_id is None:
        raise InvalidRequest("Give customer_id or contact_id.")
    found = await queries.customer_of_contact(crm, update.contact_id)
    if found is None:
        raise NotFound(f"No customer is linked to {crm} contact {update.contact_id}.")
    return found
