"""All of assignment's SQL.

Locks: a slot of an agent is claimed with one atomic UPDATE of the agent's row. Decisions to queue,
queue drains and timer sweeps are serialised by a transaction-scoped advisory lock (the queue lock),
which writers of agents take before touching the agent row. A transaction waiting for a lock never
holds a row another waiter needs (a claimer takes one agent and then only writes its own
conversation), so these waits cannot form a cycle.
"""

from __future__ import annotations

import zlib

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_assignment.repository.agents import Agent, AgentQueries, Need
from sportello_assignment.repository.conversations import Conversation, ConversationQueries

_QUEUE_LOCK = zlib.crc32(b"sportello.assignment.queue")

__all__ = ["Agent", "AssignmentRepository", "Conversation", "Need"]


class AssignmentRepository(AgentQueries, ConversationQueries):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_queue(self) -> None:
        """Serialise queueing decisions with drains until commit (see ``routing``); re-entrant."""
        await self.session.execute(select(func.pg_advisory_xact_lock(_QUEUE_LOCK)))
