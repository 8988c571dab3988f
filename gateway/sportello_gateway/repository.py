"""All of the gateway's SQL: order-independent upserts for the handlers, index-backed reads for
the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    Double,
    RowMapping,
    and_,
    cast,
    extract,
    func,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_gateway.cursor import Position
from sportello_gateway.tables import conversations, messages

# Columns each event owns on a message row: an upsert sets its own and leaves the others alone.
_RECEIVED_COLUMNS = ("external_id", "direction", "author_id", "author_display_name", "text",
                     "received_at")
_SCORED_COLUMNS = ("score", "sentiment_label", "sentiment_score", "breakdown", "scorer")

Assignee = uuid.UUID | Literal["unassigned"]


class GatewayRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- writes (bus handlers) ------------------------------------------------------------------

    async def upsert_received_message(self, values: dict[str, Any]) -> None:
        """Insert the message, or complete the placeholder a scored event left."""
        await self._upsert_message(values, _RECEIVED_COLUMNS)

    async def upsert_scored_message(self, values: dict[str, Any]) -> None:
        """Attach the score; a placeholder row holds it until the received event arrives."""
        await self._upsert_message(values, _SCORED_COLUMNS)

    async def _upsert_message(self, values: dict[str, Any], own_columns: Iterable[str]) -> None:
        """Each event fills only its own columns, so the two may arrive in either order."""
        statement = insert(messages).values(**values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[messages.c.id],
                set_={name: statement.excluded[name] for name in own_columns},
            )
        )

    async def ensure_conversation(self, conversation_id: uuid.UUID, customer_id: uuid.UUID) -> None:
        await self.session.execute(
            insert(conversations)
            .values(id=conversation_id, customer_id=customer_id)
            .on_conflict_do_nothing(index_elements=[conversations.c.id])
        )

    async def recompute_from_messages(self, conversation_id: uuid.UUID) -> None:
        """Derive the message aggregates from the stored messages, not from the arriving one, so
        any arrival order ends in the same row. Messages of one conversation arrive one at a time
        (one partition key), so the statement's snapshot sees all the earlier ones."""
        m = messages.alias("m")
        received = and_(m.c.conversation_id == conversation_id, m.c.received_at.is_not(None))
        inbound = and_(received, m.c.direction == "inbound")
        first_inbound = select(func.min(m.c.sent_at)).where(inbound).scalar_subquery()
        outbound = messages.alias("o")
        first_response = (
            select(func.min(outbound.c.sent_at))
            .where(outbound.c.conversation_id == conversation_id,
                   outbound.c.received_at.is_not(None), outbound.c.direction == "outbound",
                   outbound.c.sent_at > first_inbound)
            .scalar_subquery()
        )
        await self.session.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(
                message_count=select(func.count()).where(received).scalar_subquery(),
                # Ingest opens a conversation when it receives the first message.
                opened_at=select(func.min(m.c.received_at)).where(received).scalar_subquery(),
                last_message_at=select(func.max(m.c.sent_at)).where(received).scalar_subquery(),
                channel=select(m.c.channel).where(received)
                .order_by(m.c.sent_at, m.c.id).limit(1).scalar_subquery(),
                customer_display_name=select(m.c.author_display_name).where(inbound)
                .order_by(m.c.sent_at.desc(), m.c.id.desc()).limit(1).scalar_subquery(),
                first_inbound_at=first_inbound,
                first_response_at=first_response,
            )
        )

    async def raise_priority(self, conversation_id: uuid.UUID, customer_id: uuid.UUID,
                             priority: float) -> None:
        statement = insert(conversations).values(id=conversation_id, customer_id=customer_id,
                                                 priority=priority)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[conversations.c.id],
                set_={"priority": func.greatest(conversations.c.priority,
                                                statement.excluded.priority)},
            )
        )

    async def apply_assignment(self, conversation_id: uuid.UUID, customer_id: uuid.UUID,
                               sequence: int, values: dict[str, Any]) -> bool:
        """Record an assignment change unless a newer one (higher sequence) is already stored.
        Returns whether it was applied."""
        statement = insert(conversations).values(
            id=conversation_id, customer_id=customer_id, assignment_sequence=sequence, **values
        )
        stored = conversations.c.assignment_sequence
        applied = await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[conversations.c.id],
                set_={"assignment_sequence": statement.excluded.assignment_sequence,
                      **{name: statement.excluded[name] for name in values}},
                where=or_(stored.is_(None), stored < statement.excluded.assignment_sequence),
            ).returning(conversations.c.id)
        )
        return applied.first() is not None

    # -- reads (HTTP) ---------------------------------------------------------------------------

    def _conversation_query(self) -> Any:
        # The latest scored message's sentiment: one backward step on messages_conversation_sent
        # per row, cheaper than keeping a copy up to date on the conversation.
        latest = (
            select(messages.c.sentiment_label, messages.c.sentiment_score)
            .where(messages.c.conversation_id == conversations.c.id, messages.c.score.is_not(None))
            .order_by(messages.c.sent_at.desc(), messages.c.id.desc())
            .limit(1)
            .lateral("latest_sentiment")
        )
        return (
            select(conversations, latest.c.sentiment_label, latest.c.sentiment_score)
            .select_from(conversations.outerjoin(latest, true()))
            .where(conversations.c.opened_at.is_not(None))
        )

    async def list_conversations(self, *, status: str | None, assignee: Assignee | None,
                                 after: Position | None, limit: int) -> Sequence[RowMapping]:
        c = conversations.c
        query = self._conversation_query()
        if status is not None:
            query = query.where(c.status == status)
        if assignee == "unassigned":
            query = query.where(c.agent_id.is_(None))
        elif assignee is not None:
            query = query.where(c.agent_id == assignee)
        if after is not None:
            # Mixed sort directions rule out one row comparison; the redundant `priority <=`
            # bound lets the scan start at the cursor's priority instead of the top.
            query = query.where(
                c.priority <= after.priority,
                or_(c.priority < after.priority,
                    tuple_(c.opened_at, c.id) > tuple_(after.opened_at, after.id)),
            )
        query = query.order_by(c.priority.desc(), c.opened_at, c.id).limit(limit)
        return (await self.session.execute(query)).mappings().all()

    async def get_conversation(self, conversation_id: uuid.UUID) -> RowMapping | None:
        query = self._conversation_query().where(conversations.c.id == conversation_id)
        return (await self.session.execute(query)).mappings().first()

    async def conversation_messages(self, conversation_id: uuid.UUID) -> Sequence[RowMapping]:
        query = (
            select(messages)
            .where(messages.c.conversation_id == conversation_id,
                   messages.c.received_at.is_not(None))
            .order_by(messages.c.sent_at, messages.c.id)
        )
        return (await self.session.execute(query)).mappings().all()

    async def volume_since(self, since: datetime) -> Sequence[RowMapping]:
        """Message counts per (channel, direction) sent since ``since``."""
        query = (
            select(messages.c.channel, messages.c.direction, func.count().label("count"))
            .where(messages.c.received_at.is_not(None), messages.c.sent_at >= since)
            .group_by(messages.c.channel, messages.c.direction)
        )
        return (await self.session.execute(query)).mappings().all()

    async def open_counts(self) -> dict[str, int]:
        """Open, visible conversations per assignment state."""
        query = (
            select(conversations.c.assignment_state, func.count())
            .where(conversations.c.status == "open", conversations.c.opened_at.is_not(None))
            .group_by(conversations.c.assignment_state)
        )
        return {state: count for state, count in (await self.session.execute(query)).all()}

    async def first_response_stats(self, since: datetime) -> RowMapping:
        c = conversations.c
        # extract() gives numeric; double precision keeps percentile_cont and avg in floats.
        seconds = cast(extract("epoch", c.first_response_at - c.first_inbound_at), Double)
        query = select(
            func.count().label("count"),
            func.percentile_cont(0.5).within_group(seconds).label("median"),
            func.percentile_cont(0.9).within_group(seconds).label("p90"),
            func.avg(seconds).label("mean"),
        ).where(c.first_response_at.is_not(None), c.first_response_at >= since)
        return (await self.session.execute(query)).mappings().one()
