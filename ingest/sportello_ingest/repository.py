"""All of ingest's SQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_ingest.tables import conversations, customers, messages, raw_payloads


@dataclass(frozen=True)
class StoredMessage:
    id: uuid.UUID
    conversation_id: uuid.UUID
    customer_id: uuid.UUID


class IngestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find_message(self, channel: str, external_id: str) -> StoredMessage | None:
        row = (
            await self.session.execute(
                select(messages.c.id, messages.c.conversation_id, messages.c.customer_id).where(
                    messages.c.channel == channel, messages.c.external_id == external_id
                )
            )
        ).first()
        return StoredMessage(*row) if row else None

    async def upsert_customer(
        self, channel: str, author_id: str, display_name: str, followers: int | None
    ) -> uuid.UUID:
        statement = insert(customers).values(
            id=uuid.uuid4(), channel=channel, author_id=author_id, display_name=display_name,
            followers=followers,
        )
        upsert = statement.on_conflict_do_update(
            constraint="customers_identity_key",
            set_={"display_name": statement.excluded.display_name,
                  "followers": statement.excluded.followers},
        ).returning(customers.c.id)
        return (await self.session.execute(upsert)).scalar_one()

    async def open_conversation_of_message(
        self, channel: str, external_id: str
    ) -> tuple[uuid.UUID, uuid.UUID] | None:
        """(conversation id, customer id) of the open conversation holding that message."""
        row = (
            await self.session.execute(
                select(conversations.c.id, conversations.c.customer_id)
                .join(messages, messages.c.conversation_id == conversations.c.id)
                .where(messages.c.channel == channel, messages.c.external_id == external_id,
                       conversations.c.status == "open")
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def open_conversation(self, customer_id: uuid.UUID, at: datetime) -> tuple[uuid.UUID, bool]:
        """The customer's open conversation, opened now if there is none. Returns (id, opened)."""
        created = (
            await self.session.execute(
                insert(conversations)
                .values(id=uuid.uuid4(), customer_id=customer_id, status="open", opened_at=at,
                        last_message_at=at)
                .on_conflict_do_nothing(index_elements=["customer_id"],
                                        index_where=text("status = 'open'"))
                .returning(conversations.c.id)
            )
        ).scalar_one_or_none()
        if created is not None:
            return created, True
        existing = (
            await self.session.execute(
                select(conversations.c.id).where(conversations.c.customer_id == customer_id,
                                                 conversations.c.status == "open")
            )
        ).scalar_one()
        return existing, False

    async def touch_conversation(self, conversation_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id, conversations.c.last_message_at < at)
            .values(last_message_at=at)
        )

    async def insert_message(self, values: dict[str, Any]) -> bool:
        """False when a concurrent request stored the same (channel, external_id) first."""
        inserted = (
            await self.session.execute(
                insert(messages).values(**values)
                .on_conflict_do_nothing(constraint="messages_channel_external_id_key")
                .returning(messages.c.id)
            )
        ).scalar_one_or_none()
        return inserted is not None

    async def archive_raw(self, message_id: uuid.UUID, channel: str, payload: Any,
                          received_at: datetime) -> None:
        await self.session.execute(
            insert(raw_payloads).values(message_id=message_id, channel=channel, payload=payload,
                                        received_at=received_at)
        )
