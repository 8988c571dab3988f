"""Helpers shared by assignment's tests: scored messages, routing, agents, emitted events."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from sportello.contracts import MessageScored, Sentiment
from sportello.db import Database
from sportello_assignment import service
from sportello_assignment.schemas import AgentOut, NewAgent, Presence
from sportello_assignment.service import Routing
from sportello_assignment.tables import outbox


def scored(conversation_id: uuid.UUID | None = None, customer_id: uuid.UUID | None = None,
           priority: float = 50.0) -> MessageScored:
    return MessageScored(
        message_id=uuid.uuid4(), conversation_id=conversation_id or uuid.uuid4(),
        customer_id=customer_id or uuid.uuid4(), channel="chat", sent_at=datetime.now(UTC),
        sentiment=Sentiment(label="neutral", score=0.0), score=priority, breakdown=(),
        conversation_priority=priority, scorer="test",
    )


async def route(db: Database, event: MessageScored) -> Routing:
    async with db.transaction() as tx:
        return await service.route_scored_message(tx, event)


async def add_agent(db: Database, *, capacity: int = 2, presence: Presence = "online",
                    name: str | None = None) -> AgentOut:
    async with db.transaction() as tx:
        return await service.create_agent(
            tx, NewAgent(name=name or f"agent-{uuid.uuid4()}", team="care", capacity=capacity,
                         presence=presence)
        )


async def get_agent(db: Database, agent_id: uuid.UUID) -> AgentOut:
    async with db.transaction() as tx:
        return await service.get_agent(tx, agent_id)


async def emitted(db: Database, conversation_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    """(event type, payload) of every event in the outbox about the conversation, in order."""
    async with db.transaction() as tx:
        rows = await tx.session.execute(
            select(outbox.c.headers, outbox.c.value)
            .where(outbox.c.key == str(conversation_id).encode()).order_by(outbox.c.id)
        )
        return [(dict(headers)["ce_type"], json.loads(value)) for headers, value in rows]


