"""Helpers shared by assignment's tests: scored messages, routing, agents, emitted events."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from sportello.contracts import Intent, MessageScored, Presence, Sentiment
from sportello.db import Database
from sportello_assignment import agents, service
from sportello_assignment.policy import POLICIES, Rules
from sportello_assignment.repository import AssignmentRepository, Conversation
from sportello_assignment.routing import Routing
from sportello_assignment.schemas import AgentChange, AgentOut, NewAgent
from sportello_assignment.tables import agents as agents_table
from sportello_assignment.tables import outbox

# Auto-away off: tests move the clock by hours without heartbeats (its own test turns it on).
RULES = Rules(policy=POLICIES["ours"], auto_away_s=0)
CAPACITY = 7
# Tomorrow: after every row's creation time (agents are created "now"), so the clock only moves
# forward.
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def rules(**changes: Any) -> Rules:
    return replace(RULES, **changes)


def scored(conversation_id: uuid.UUID | None = None, customer_id: uuid.UUID | None = None,
           priority: float = 50.0, *, channel: str = "chat", language: str | None = None,
           intent: str | None = None, account: str | None = None,
           sent_at: datetime | None = None) -> MessageScored:
    return MessageScored(
        message_id=uuid.uuid4(), conversation_id=conversation_id or uuid.uuid4(),
        customer_id=customer_id or uuid.uuid4(), channel=channel,
        sent_at=sent_at or datetime.now(UTC),
        sentiment=Sentiment(label="neutral", score=0.0), score=priority, breakdown=(),
        conversation_priority=priority, scorer="test", language=language, account=account,
        intent=Intent(name=intent, confidence=0.9) if intent else None,
    )


async def route(db: Database, event: MessageScored, with_rules: Rules = RULES,
                now: datetime | None = None) -> Routing:
    async with db.transaction() as tx:
        return await service.route_scored_message(tx, event, with_rules, now)


async def add_agent(db: Database, *, capacity: int = 2, presence: Presence = "online",
                    name: str | None = None, team: str = "care", with_rules: Rules = RULES,
                    **skills: Any) -> AgentOut:
    async with db.transaction() as tx:
        return await agents.create_agent(
            tx, NewAgent(name=name or f"agent-{uuid.uuid4()}", team=team, capacity=capacity,
                         presence=presence, **skills), with_rules, CAPACITY)


async def patch(db: Database, agent_id: uuid.UUID, with_rules: Rules = RULES,
                now: datetime | None = None, **change: object) -> AgentOut:
    async with db.transaction() as tx:
        return await agents.update_agent(tx, agent_id, AgentChange.model_validate(change),
                                         with_rules, now)


async def get_agent(db: Database, agent_id: uuid.UUID) -> AgentOut:
    async with db.transaction() as tx:
        return await agents.get_agent(tx, agent_id)


async def set_load(db: Database, agent_id: uuid.UUID, active: int,
                   last_assigned_at: datetime | None = None, channel: str = "chat") -> None:
    """Pretend the agent already holds ``active`` conversations on ``channel``."""
    async with db.transaction() as tx:
        capacity = (await AssignmentRepository(tx.session).get_agent(agent_id)).capacity  # type: ignore[union-attr]
        await tx.session.execute(update(agents_table).where(agents_table.c.id == agent_id).values(
            active_count=active, active={channel: active}, load=active / capacity,
            last_assigned_at=last_assigned_at))


async def conversation(db: Database, conversation_id: uuid.UUID) -> Conversation:
    async with db.transaction() as tx:
        found = await AssignmentRepository(tx.session).get_conversation(conversation_id)
    assert found is not None
    return found


async def queue(db: Database, with_rules: Rules = RULES) -> list[uuid.UUID]:
    async with db.transaction() as tx:
        return [c.id for c in await AssignmentRepository(tx.session).queue(with_rules.policy, 1000)]


async def emitted(db: Database, conversation_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    """(event type, payload) of every event in the outbox about the conversation, in order."""
    async with db.transaction() as tx:
        rows = await tx.session.execute(
            select(outbox.c.headers, outbox.c.value)
            .where(outbox.c.key == str(conversation_id).encode()).order_by(outbox.c.id)
        )
        return [(dict(headers)["ce_type"], json.loads(value)) for headers, value in rows]
