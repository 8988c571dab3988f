"""All of the gateway's SQL: order-independent upserts for the handlers, index-backed reads for
the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Double,
    RowMapping,
    and_,
    case,
    cast,
    extract,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_gateway.inbox import LISTED_COLUMNS
from sportello_gateway.tables import conversations, messages

# Columns each event owns on a message row: an upsert sets its own and leaves the others alone.
# Both completing events set channel and sent_at: a delivery placeholder only guessed them.
_RECEIVED_COLUMNS = ("channel", "sent_at", "external_id", "direction", "author_id",
                     "author_display_name", "text", "received_at", "account", "visibility", "flags")
_REQUESTED_COLUMNS = ("channel", "sent_at", "direction", "text", "received_at", "account",
                      "visibility", "agent_reply", "agent_id")
_SCORED_COLUMNS = ("score", "sentiment_label", "sentiment_score", "breakdown", "scorer")

# A delivery status only moves forward, so the highest rank seen is the latest whatever the
# arrival order. Ingest moves to failed only from pending or sent, and never from failed to
# delivered or read, so failed shares no message with those: any rank above sent would do.
_DELIVERY_RANK = {"pending": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}
_SEARCHABLE_CHARACTERS = 262_144


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

    async def upsert_requested_reply(self, values: dict[str, Any]) -> None:
        """Insert the agent's reply, or complete the placeholder a delivery update left."""
        await self._upsert_message(values, _REQUESTED_COLUMNS)

    async def upsert_delivery(self, values: dict[str, Any]) -> None:
        """Move the delivery forward, never back; a placeholder row holds it until the reply (or
        the received message) arrives."""
        statement = insert(messages).values(**values)
        new, old = statement.excluded, messages.c
        newer = _rank(new.delivery_status) > _rank(old.delivery_status)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[messages.c.id],
                set_={
                    "delivery_status": case((newer, new.delivery_status), else_=old.delivery_status),
                    "delivery_error": case((newer, new.delivery_error), else_=old.delivery_error),
                    # One platform id per message; receipts after the first may not repeat it.
                    "external_id": func.coalesce(old.external_id, new.external_id),
                    # LEAST skips NULLs: the earliest update that says the message went out.
                    "dispatched_at": func.least(old.dispatched_at, new.dispatched_at),
                },
            )
        )

    async def _upsert_message(self, values: dict[str, Any], own_columns: Iterable[str]) -> None:
        """Each event fills only its own columns, so they may arrive in any order."""
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
        any arrival order ends in the same row.

        A conversation's events come on several topics, whose partitions are handled
        concurrently, so two recomputes may race. Locking the row first serialises them, and the
        statement after the lock sees every message change committed before it; a change still
        uncommitted is followed by its own transaction's recompute."""
        await self.session.execute(
            select(conversations.c.id).where(conversations.c.id == conversation_id)
            .with_for_update()
        )
        m = messages.alias("m")
        received = and_(m.c.conversation_id == conversation_id, m.c.received_at.is_not(None))
        # Messages from the platform open a conversation and name its channel; an agent's reply
        # needs an open conversation and goes out on a channel of its own (e.g. messenger for a
        # facebook comment), so it must not show a conversation whose first message is unknown.
        from_platform = and_(received, m.c.agent_reply.is_(False))
        inbound = and_(received, m.c.direction == "inbound")
        first_inbound = select(func.min(m.c.sent_at)).where(inbound).scalar_subquery()
        await self.session.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(
                message_count=select(func.count()).where(received).scalar_subquery(),
                # Ingest opens a conversation when it receives the first message.
                opened_at=select(func.min(m.c.received_at)).where(from_platform)
                .scalar_subquery(),
                last_message_at=select(func.max(m.c.sent_at)).where(received).scalar_subquery(),
                channel=select(m.c.channel).where(from_platform)
                .order_by(m.c.sent_at, m.c.id).limit(1).scalar_subquery(),
                customer_display_name=select(m.c.author_display_name).where(inbound)
                .order_by(m.c.sent_at.desc(), m.c.id.desc()).limit(1).scalar_subquery(),
                first_inbound_at=first_inbound,
                first_response_at=_first_response(conversation_id, first_inbound),
            )
        )

    async def recompute_search_document(self, conversation_id: uuid.UUID) -> None:
        """The customer's name and every message's text, in order, as one 'simple' tsvector.
        Rebuilt from the stored messages (not appended to) so any arrival order ends in the same
        document. Capped so a very long conversation cannot exceed a tsvector's 1 MB limit: its
        first 256 KiB of text is searchable."""
        m = messages.alias("m")
        text_so_far = (
            select(func.string_agg(m.c.text, aggregate_order_by(literal_column("' '"), m.c.sent_at,
                                                                m.c.id)))
            .where(m.c.conversation_id == conversation_id, m.c.received_at.is_not(None))
            .scalar_subquery()
        )
        document = func.coalesce(conversations.c.customer_display_name, "").concat(" ").concat(
            func.left(func.coalesce(text_so_far, ""), _SEARCHABLE_CHARACTERS))
        await self.session.execute(
            update(conversations).where(conversations.c.id == conversation_id)
            .values(search_document=func.to_tsvector(literal_column("'simple'"), document))
        )

    async def recompute_sentiment(self, conversation_id: uuid.UUID) -> None:
        """The latest scored message's sentiment (by sent order, not arrival), so the list can
        filter on it. One backward step on messages_conversation_sent."""
        m = messages.alias("m")
        latest = (select(m.c.sentiment_label, m.c.sentiment_score)
                  .where(m.c.conversation_id == conversation_id, m.c.score.is_not(None))
                  .order_by(m.c.sent_at.desc(), m.c.id.desc()).limit(1).subquery())
        await self.session.execute(
            update(conversations).where(conversations.c.id == conversation_id)
            .values(sentiment_label=select(latest.c.sentiment_label).scalar_subquery(),
                    sentiment_score=select(latest.c.sentiment_score).scalar_subquery())
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
                # Once conversation.prioritised speaks, only it moves the priority (down too).
                where=conversations.c.priority_sequence.is_(None),
            )
        )

    async def apply_priority(self, conversation_id: uuid.UUID, customer_id: uuid.UUID,
                             sequence: int, values: dict[str, Any]) -> bool:
        """Record a priority change unless a newer one is already stored."""
        return await self._apply_if_newer(conversation_id, customer_id, "priority_sequence",
                                          sequence, values)

    async def apply_assignment(self, conversation_id: uuid.UUID, customer_id: uuid.UUID,
                               sequence: int, values: dict[str, Any]) -> bool:
        """Record an assignment change unless a newer one (higher sequence) is already stored.
        Returns whether it was applied."""
        return await self._apply_if_newer(conversation_id, customer_id, "assignment_sequence",
                                          sequence, values)

    async def apply_status(self, conversation_id: uuid.UUID, customer_id: uuid.UUID,
                           sequence: int, values: dict[str, Any]) -> bool:
        """Record a status change unless a newer one is already stored. Returns whether it was
        applied."""
        return await self._apply_if_newer(conversation_id, customer_id, "status_sequence",
                                          sequence, values)

    async def _apply_if_newer(self, conversation_id: uuid.UUID, customer_id: uuid.UUID,
                              sequence_column: str, sequence: int,
                              values: dict[str, Any]) -> bool:
        statement = insert(conversations).values(
            id=conversation_id, customer_id=customer_id, **{sequence_column: sequence}, **values
        )
        stored, arriving = conversations.c[sequence_column], statement.excluded[sequence_column]
        applied = await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[conversations.c.id],
                set_={name: statement.excluded[name] for name in (sequence_column, *values)},
                where=or_(stored.is_(None), stored < arriving),
            ).returning(conversations.c.id)
        )
        return applied.first() is not None

    # -- reads (HTTP) ---------------------------------------------------------------------------

    async def get_conversation(self, conversation_id: uuid.UUID) -> RowMapping | None:
        query = select(*LISTED_COLUMNS).where(conversations.c.id == conversation_id,
                                              conversations.c.opened_at.is_not(None))
        return (await self.session.execute(query)).mappings().first()

    async def lock_conversation(self, conversation_id: uuid.UUID) -> RowMapping | None:
        """The visible conversation, locked until the transaction ends (tag changes serialise)."""
        query = (select(*LISTED_COLUMNS)
                 .where(conversations.c.id == conversation_id,
                        conversations.c.opened_at.is_not(None))
                 .with_for_update())
        return (await self.session.execute(query)).mappings().first()

    async def set_tags(self, conversation_id: uuid.UUID, tags: Sequence[str]) -> None:
        await self.session.execute(
            update(conversations).where(conversations.c.id == conversation_id)
            .values(tags=list(tags))
        )

    async def conversation_messages(self, conversation_id: uuid.UUID) -> Sequence[RowMapping]:
        query = (
            select(messages)
            .where(messages.c.conversation_id == conversation_id,
                   messages.c.received_at.is_not(None))
            .order_by(messages.c.sent_at, messages.c.id)
        )
        return (await self.session.execute(query)).mappings().all()

    async def volume_since(self, since: datetime) -> Sequence[RowMapping]:
        """Message counts per (channel, direction) sent since ``since``. An agent's reply counts
        at the moment it was requested, whatever its delivery: the volume measures the work
        handled, and this keeps the count an index-only scan over messages_sent."""
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


def _rank(status: Any) -> Any:
    return case(_DELIVERY_RANK, value=status, else_=-1)


def _first_response(conversation_id: uuid.UUID, first_inbound: Any) -> Any:
    """When the first answer to the customer's first message reached the platform.

    An outbound message written after the first inbound one counts: one seen on the platform at
    its sent_at, an agent's reply only once it went out (dispatched_at: the first update saying
    sent, delivered or read), not when it was requested, since the customer waited until then.
    A message that finally failed reached nobody and does not count."""
    o = messages.alias("o")
    answered_at = case((o.c.agent_reply, o.c.dispatched_at), else_=o.c.sent_at)
    return (
        select(func.min(answered_at))
        .where(o.c.conversation_id == conversation_id, o.c.received_at.is_not(None),
               o.c.direction == "outbound", o.c.sent_at > first_inbound,
               o.c.delivery_status.is_distinct_from("failed"))
        .scalar_subquery()
    )
