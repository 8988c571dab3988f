"""SQL of the CRM mirror: contact links, mirrored history, the customers' last picture, and what
the CRM told us of them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_crm_sync.tables import crm_contacts, crm_links, customers, history


class CrmQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- links ------------------------------------------------------------------------------------

    async def contact_of(self, customer_id: uuid.UUID, crm: str) -> str | None:
        """The customer's contact id in ``crm``; None when unknown (or linked to another CRM)."""
        return (await self.session.execute(  # type: ignore[no-any-return]
            select(crm_links.c.contact_id).where(crm_links.c.customer_id == customer_id,
                                                 crm_links.c.crm == crm))).scalar_one_or_none()

    async def customer_of_contact(self, crm: str, contact_id: str) -> uuid.UUID | None:
        return (await self.session.execute(  # type: ignore[no-any-return]
            select(crm_links.c.customer_id).where(crm_links.c.crm == crm,
                                                  crm_links.c.contact_id == contact_id)
            .limit(1))).scalar_one_or_none()

    async def link_contact(self, customer_id: uuid.UUID, crm: str, contact_id: str) -> None:
        # Overwrites: a customer has one contact, in the CRM configured now (a re-upsert after the
        # CRM lost the contact, or a switch of CRM, replaces the old link).
        statement = insert(crm_links).values(customer_id=customer_id, crm=crm, contact_id=contact_id)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=[crm_links.c.customer_id],
            set_={"crm": statement.excluded.crm, "contact_id": statement.excluded.contact_id,
                  "synced_at": func.now()}))

    # -- history ----------------------------------------------------------------------------------

    async def mirrored(self, key: str, message_id: uuid.UUID | None) -> str | None:
        """The CRM record of this entry (by key, or by message for a replay under another key)."""
        query = select(history.c.record_id).where(history.c.key == key)
        if message_id is not None:
            query = select(history.c.record_id).where(
                (history.c.key == key) | (history.c.message_id == message_id))
        return (await self.session.execute(query.limit(1))).scalar_one_or_none()

    async def record_history(self, key: str, crm: str, record_id: str, customer_id: uuid.UUID,
                             message_id: uuid.UUID | None) -> None:
        await self.session.execute(
            insert(history).values(key=key, crm=crm, record_id=record_id, customer_id=customer_id,
                                   message_id=message_id).on_conflict_do_nothing())

    # -- customers --------------------------------------------------------------------------------

    async def customer(self, customer_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(
            select(customers).where(customers.c.customer_id == customer_id))).first()
        return dict(row._mapping) if row else None

    async def keep_customer(self, customer_id: uuid.UUID, display_name: str,
                            identities: list[dict[str, Any]], sequence: int) -> bool:
        """Store the newest picture; False (nothing written) when ``sequence`` is not newer."""
        statement = insert(customers).values(customer_id=customer_id, display_name=display_name,
                                             identities=identities, sequence=sequence)
        written = (await self.session.execute(statement.on_conflict_do_update(
            index_elements=[customers.c.customer_id],
            set_={"display_name": statement.excluded.display_name,
                  "identities": statement.excluded.identities,
                  "sequence": statement.excluded.sequence},
            where=customers.c.sequence < statement.excluded.sequence,
        ).returning(customers.c.customer_id))).scalar_one_or_none()
        return written is not None

    async def set_merged_into(self, customer_id: uuid.UUID, survivor: uuid.UUID | None,
                              display_name: str = "") -> None:
        statement = insert(customers).values(customer_id=customer_id, display_name=display_name,
                                             merged_into=survivor)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=[customers.c.customer_id], set_={"merged_into": survivor}))

    async def survivor_of(self, customer_id: uuid.UUID) -> uuid.UUID:
        """Where a customer's history goes: the customer it was merged into, else itself."""
        merged_into = (await self.session.execute(
            select(customers.c.merged_into).where(customers.c.customer_id == customer_id)
        )).scalar_one_or_none()
        return merged_into or customer_id

    # -- what the CRM says ------------------------------------------------------------------------

    async def contact_picture(self, customer_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(
            select(crm_contacts).where(crm_contacts.c.customer_id == customer_id)
            .with_for_update())).first()
        return dict(row._mapping) if row else None

    async def keep_contact_picture(self, customer_id: uuid.UUID, crm: str, *, tier: str | None,
                                   vip: bool, do_not_contact: bool, owner: str | None,
                                   updated_at: datetime) -> int:
        """Store the CRM's picture and return its new sequence number."""
        values = {"crm": crm, "tier": tier, "vip": vip, "do_not_contact": do_not_contact,
                  "owner": owner, "updated_at": updated_at}
        statement = insert(crm_contacts).values(customer_id=customer_id, sequence=1, **values)
        return (await self.session.execute(statement.on_conflict_do_update(  # type: ignore[no-any-return]
            index_elements=[crm_contacts.c.customer_id],
            set_={**values, "sequence": crm_contacts.c.sequence + 1},
        ).returning(crm_contacts.c.sequence))).scalar_one()
