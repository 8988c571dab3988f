"""The timeline's SQL: one row per thing that happened to a conversation, idempotent by id.

A message's entry holds only its id; its content (and its delivery and score, which keep changing)
is read from the messages table when the timeline is shown, so it is never stale.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_gateway.tables import messages, timeline

TimelineKey = tuple[datetime, int, int]  # occurred_at, sequence, position


class TimelineRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *, entry_id: uuid.UUID, conversation_id: uuid.UUID, kind: str,
                  occurred_at: datetime, sequence: int = 0, message_id: uuid.UUID | None = None,
                  detail: dict[str, Any] | None = None) -> bool:
        """Record an entry once: the same id again (a redelivered event) adds nothing. Returns
        whether it was new."""
        added = await self.session.execute(
            insert(timeline)
            .values(id=entry_id, conversation_id=conversation_id, kind=kind,
                    occurred_at=occurred_at, sequence=sequence, message_id=message_id,
                    detail=detail or {})
            .on_conflict_do_nothing(index_elements=[timeline.c.id])
            .returning(timeline.c.id)
        )
        return added.first() is not None

    async def page(self, conversation_id: uuid.UUID, *, after: TimelineKey | None,
                   limit: int) -> Sequence[RowMapping]:
        t = timeline.c
        query = select(timeline).where(t.conversation_id == conversation_id)
        if after is not None:
            query = query.where(tuple_(t.occurred_at, t.sequence, t.position) > tuple_(*after))
        query = query.order_by(t.occurred_at, t.sequence, t.position).limit(limit)
        return (await self.session.execute(query)).mappings().all()

    async def messages_by_id(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, RowMapping]:
        if not ids:
            return {}
        rows = (await self.session.execute(
            select(messages).where(messages.c.id.in_(ids), messages.c.received_at.is_not(None))
        )).mappings().all()
        return {row["id"]: row for row in rows}
