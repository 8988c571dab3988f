"""Who may see a conversation's events: its team and its assignee, as the stream last saw them.

Learnt for free from the assignment events that pass through the stream; a conversation not seen
since this replica started is looked up once in the read model. Bounded (least recently used out).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import func, select

from sportello.contracts import ConversationAssigned, ConversationQueued, Envelope
from sportello.db import Database
from sportello_gateway.tables import conversations


@dataclass(frozen=True)
class Owner:
    team: str | None
    agent_id: str | None


class ScopeIndex:
    def __init__(self, db: Database | None, *, size: int) -> None:
        self._db = db
        self._size = size
        self._owners: OrderedDict[uuid.UUID, Owner] = OrderedDict()

    def learn(self, envelope: Envelope) -> None:
        """Take the owner an assignment event states (before the event is dispatched, so the agent
        a conversation is assigned to receives that very event)."""
        event = envelope.data
        if isinstance(event, ConversationAssigned):
            self._remember(event.conversation_id, Owner(event.agent.team, str(event.agent.id)))
        elif isinstance(event, ConversationQueued):
            self._remember(event.conversation_id, Owner(event.team, None))

    async def owner(self, conversation_id: uuid.UUID) -> Owner:
        known = self._owners.get(conversation_id)
        if known is not None:
            self._owners.move_to_end(conversation_id)
            return known
        found = await self._load(conversation_id)
        self._remember(conversation_id, found)
        return found

    async def _load(self, conversation_id: uuid.UUID) -> Owner:
        if self._db is None:
            return Owner(None, None)
        # The read model's owner (team: the assigned agent's or the queue's); unknown there yet
        # means nobody owns it: only callers who see everything get its events.
        query = (select(func.coalesce(conversations.c.team, conversations.c.agent_team),
                        conversations.c.agent_id)
                 .where(conversations.c.id == conversation_id))
        async with self._db.transaction() as tx:
            row = (await tx.session.execute(query)).first()
        if row is None:
            return Owner(None, None)
        return Owner(row[0], str(row[1]) if row[1] is not None else None)

    def _remember(self, conversation_id: uuid.UUID, owner: Owner) -> None:
        self._owners[conversation_id] = owner
        self._owners.move_to_end(conversation_id)
        while len(self._owners) > self._size:
            self._owners.popitem(last=False)
