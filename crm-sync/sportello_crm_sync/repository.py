"""All of crm-sync's SQL."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_crm_sync.tables import crm_links, interactions


class CrmSyncRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def contact_of(self, customer_id: uuid.UUID, crm: str) -> str | None:
        """The customer's contact id in ``crm``; None when unknown (or linked to another CRM)."""
        return (
            await self.session.execute(
                select(crm_links.c.contact_id).where(crm_links.c.customer_id == customer_id,
                                                     crm_links.c.crm == crm)
            )
        ).scalar_one_or_none()

    async def link_contact(self, customer_id: uuid.UUID, crm: str, contact_id: str) -> None:
        # Overwrites: a customer has one contact, in the CRM configured now (a re-upsert after the
        # CRM lost the contact, or a switch of CRM, replaces the old link).
        statement = insert(crm_links).values(customer_id=customer_id, crm=crm,
                                             contact_id=contact_id)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[crm_links.c.customer_id],
                set_={"crm": statement.excluded.crm, "contact_id": statement.excluded.contact_id,
                      "synced_at": func.now()},
            )
        )

    async def is_mirrored(self, message_id: uuid.UUID) -> bool:
        found = (
            await self.session.execute(
                select(interactions.c.message_id).where(interactions.c.message_id == message_id)
            )
        ).first()
        return found is not None

    async def record_interaction(self, message_id: uuid.UUID, crm: str,
                                 interaction_id: str) -> None:
        await self.session.execute(
            insert(interactions)
            .values(message_id=message_id, crm=crm, interaction_id=interaction_id)
            .on_conflict_do_nothing(index_elements=[interactions.c.message_id])
        )
