"""All of priority's SQL."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_priority.tables import message_scores


class ScoreRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(self, values: dict[str, Any]) -> bool:
        """False when the message was already scored (the score is never recomputed)."""
        inserted = await self.session.execute(
            insert(message_scores).values(**values).on_conflict_do_nothing()
            .returning(message_scores.c.message_id)
        )
        return inserted.first() is not None

    async def conversation_priority(self, conversation_id: uuid.UUID) -> float:
        value = await self.session.scalar(
            select(func.max(message_scores.c.score))
            .where(message_scores.c.conversation_id == conversation_id)
        )
        return float(value or 0.0)
