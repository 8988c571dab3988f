"""All of assignment's SQL.

Locks: a slot of an agent is claimed with one atomic UPDATE of the agent's row whose WHERE rechecks
room, so no interleaving pushes an agent past capacity. Decisions to queue, queue drains, timer
sweeps, resolutions and manual actions are serialised by a transaction-scoped advisory lock (the
queue lock). The order is always: queue lock first, then rows. A transaction that may want the
queue lock takes it before locking a conversation or agent row, and one holding it never waits for a
queued conversation's row (``next_for`` skips locked rows), so waits cannot form a cycle;
``tests/assignment/test_replicas.py`` found the cycles an earlier order allowed.
"""

from __future__ import annotations

import zlib

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_assignment.repository.agents import Agent, AgentQueries, Need
from sportello_assignment.repository.conversations import (
    Conversation,
    ConversationQueries,
    due_in_queue,
    due_with_new_priority,
    kept_in_queue,
)

_QUEUE_LOCK = zlib.crc32(b"sportello.assignment.queue")

__all__ = ["Agent", "AssignmentRepository", "Conversation", "Need", "due_in_queue",
           "due_with_new_priority", "kept_in_queue"]


class AssignmentRepository(AgentQueries, ConversationQueries):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_queue(self) -> None:
        """Serialise queueing decisions with drains until commit (see ``routing``); re-entrant."""
        await self.session.execute(select(func.pg_advisory_xact_lock(_QUEUE_LOCK)))
