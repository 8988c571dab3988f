"""All of assignment's SQL.

Locks: a slot of an agent is claimed with one atomic UPDATE of the agent's row. Decisions to
queue and queue drains are serialised by a transaction-scoped advisory lock (the queue lock), which
writers of agents take before touching the agent row. A transaction waiting for a lock never holds
a row another waiter needs (a claimer takes one agent and then only writes its own conversation),
so these waits cannot form a cycle.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, cast, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_assignment.tables import agents, conversations

_QUEUE_LOCK = zlib.crc32(b"sportello.assignment.queue")
_AGENT_COLUMNS = (agents.c.id, agents.c.name, agents.c.team, agents.c.capacity, agents.c.presence,
                  agents.c.active_count)
_QUEUE_COLUMNS = (conversations.c.id.label("conversation_id"), conversations.c.customer_id,
                  conversations.c.priority, conversations.c.queued_at)
# Queue order: most urgent first, then whoever has waited longest.
_QUEUE_ORDER = (conversations.c.priority.desc(), conversations.c.queued_at, conversations.c.id)


@dataclass(frozen=True)
class Agent:
    id: uuid.UUID
    name: str
    team: str
    capacity: int
    presence: str
    active_count: int


@dataclass(frozen=True)
class Queued:
    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    priority: float
    queued_at: datetime


class AssignmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_queue(self) -> None:
        """Serialise queueing decisions with drains until commit (see ``service``); re-entrant."""
        await self.session.execute(select(func.pg_advisory_xact_lock(_QUEUE_LOCK)))

    # Agents

    async def insert_agent(self, name: str, team: str, capacity: int,
                           presence: str) -> Agent | None:
        """None when an agent of that name exists (names are the seed's idempotency key)."""
        row = (
            await self.session.execute(
                insert(agents)
                .values(id=uuid.uuid4(), name=name, team=team, capacity=capacity, presence=presence)
                .on_conflict_do_nothing(index_elements=["name"])
                .returning(*_AGENT_COLUMNS)
            )
        ).first()
        return Agent(*row) if row else None

    async def get_agent(self, agent_id: uuid.UUID) -> Agent | None:
        row = (await self.session.execute(select(*_AGENT_COLUMNS).where(agents.c.id == agent_id))
               ).first()
        return Agent(*row) if row else None

    async def list_agents(self) -> list[Agent]:
        rows = await self.session.execute(select(*_AGENT_COLUMNS).order_by(agents.c.name))
        return [Agent(*row) for row in rows]

    async def update_agent(self, agent_id: uuid.UUID, values: dict[str, Any]) -> Agent | None:
        row = (
            await self.session.execute(
                update(agents).where(agents.c.id == agent_id)
                .values(**values, updated_at=func.now())
                .returning(*_AGENT_COLUMNS)
            )
        ).first()
        return Agent(*row) if row else None

    async def claim_agent(self, agent_id: uuid.UUID, at: datetime) -> Agent | None:
        """A slot of this agent if online with room (the WHERE is rechecked under the row lock)."""
        row = (
            await self.session.execute(
                update(agents)
                .where(agents.c.id == agent_id, agents.c.presence == "online",
                       agents.c.active_count < agents.c.capacity)
                .values(active_count=agents.c.active_count + 1, last_assigned_at=at)
                .returning(*_AGENT_COLUMNS)
            )
        ).first()
        return Agent(*row) if row else None

    async def claim_least_loaded(self, at: datetime, *, wait: bool) -> Agent | None:
        """Take a slot of the least loaded online agent with room (ties: least recently assigned).

        ``wait=False`` skips agents other transactions are claiming right now, so concurrent
        handlers spread over agents instead of queueing behind one row lock; it can miss room on
        a locked agent. ``wait=True`` waits for those locks and rechecks the row, so it finds room
        wherever there is some.
        """
        load = cast(agents.c.active_count, Float) / agents.c.capacity
        candidate = (
            select(agents.c.id)
            .where(agents.c.presence == "online", agents.c.active_count < agents.c.capacity)
            .order_by(load, agents.c.last_assigned_at.asc().nulls_first(), agents.c.id)
            .limit(1)
            .with_for_update(skip_locked=not wait)
            .scalar_subquery()
        )
        row = (
            await self.session.execute(
                update(agents)
                .where(agents.c.id == candidate, agents.c.active_count < agents.c.capacity)
                .values(active_count=agents.c.active_count + 1, last_assigned_at=at)
                .returning(*_AGENT_COLUMNS)
            )
        ).first()
        return Agent(*row) if row else None

    # Conversations

    async def insert_conversation(self, conversation_id: uuid.UUID, customer_id: uuid.UUID,
                                  priority: float, at: datetime) -> bool:
        """False when the conversation is already known. A concurrent insert of the same id waits
        here for the first transaction to finish, which is what stops a double assignment."""
        # Inserted as queued; the caller assigns it before commit when someone has room.
        inserted = (
            await self.session.execute(
                insert(conversations)
                .values(id=conversation_id, customer_id=customer_id, status="queued",
                        priority=priority, queued_at=at)
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(conversations.c.id)
            )
        ).scalar_one_or_none()
        return inserted is not None

    async def set_priority(self, conversation_id: uuid.UUID, priority: float) -> str | None:
        """The conversation's status, or None when it is not known here."""
        return (
            await self.session.execute(
                update(conversations).where(conversations.c.id == conversation_id)
                .values(priority=priority)
                .returning(conversations.c.status)
            )
        ).scalar_one_or_none()

    async def previous_owner(self, customer_id: uuid.UUID,
                             excluding: uuid.UUID) -> uuid.UUID | None:
        return (
            await self.session.execute(
                select(conversations.c.agent_id)
                .where(conversations.c.customer_id == customer_id,
                       conversations.c.id != excluding, conversations.c.agent_id.is_not(None))
                .order_by(conversations.c.assigned_at.desc().nulls_last())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def assign(self, conversation_id: uuid.UUID, agent_id: uuid.UUID, at: datetime) -> int:
        """Record the owner; returns the sequence number of the event announcing it."""
        return (
            await self.session.execute(
                update(conversations).where(conversations.c.id == conversation_id)
                .values(status="assigned", agent_id=agent_id, assigned_at=at, queued_at=None,
                        sequence=conversations.c.sequence + 1)
                .returning(conversations.c.sequence)
            )
        ).scalar_one()

    async def next_sequence(self, conversation_id: uuid.UUID) -> int:
        return (
            await self.session.execute(
                update(conversations).where(conversations.c.id == conversation_id)
                .values(sequence=conversations.c.sequence + 1)
                .returning(conversations.c.sequence)
            )
        ).scalar_one()

    async def lock_next_queued(self) -> Queued | None:
        """The head of the queue, locked. Waiting (not skipping) is safe: drains are serialised by
        the queue lock, and other holders of a queued row only update its priority and commit."""
        row = (
            await self.session.execute(
                select(*_QUEUE_COLUMNS).where(conversations.c.status == "queued")
                .order_by(*_QUEUE_ORDER).limit(1)
                .with_for_update(of=conversations)
            )
        ).first()
        return Queued(*row) if row else None

    async def queue(self, limit: int) -> list[Queued]:
        rows = await self.session.execute(
            select(*_QUEUE_COLUMNS).where(conversations.c.status == "queued")
            .order_by(*_QUEUE_ORDER).limit(limit)
        )
        return [Queued(*row) for row in rows]
