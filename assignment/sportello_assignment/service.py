"""Assignment's rules: ownership end to end, the customer's previous agent first, then the least
loaded online agent; otherwise a priority-ordered queue drained whenever capacity frees up."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import structlog

from sportello.contracts import (
    AgentRef,
    ConversationAssigned,
    ConversationPrioritised,
    ConversationQueued,
    MessageScored,
)
from sportello.db import Tx
from sportello.http.problems import Conflict, NotFound
from sportello_assignment.repository import Agent, AssignmentRepository
from sportello_assignment.schemas import AgentChange, AgentOut, NewAgent, QueuedConversation

log = structlog.get_logger(__name__)

Reason = Literal["new", "previous_owner", "capacity_freed"]


@dataclass(frozen=True)
class Routing:
    """What routing a scored message did (for logs and tests; events carry the rest)."""

    outcome: Literal["assigned", "queued", "kept_owner", "still_queued"]
    agent_id: uuid.UUID | None = None


async def route_scored_message(tx: Tx, event: MessageScored) -> Routing:
    repo = AssignmentRepository(tx.session)
    now = datetime.now(UTC)
    conversation_id, priority = event.conversation_id, event.conversation_priority
    if not await repo.insert_conversation(conversation_id, event.customer_id, priority, now):
        # Known conversation: its owner keeps it end to end; a queued one keeps its queued_at and
        # only moves in the queue through its priority. Neither is news, so nothing is emitted.
        status = await repo.set_priority(conversation_id, priority)
        log.info("assignment.reprioritised", conversation_id=str(conversation_id),
                 status=status, priority=priority)
        return Routing("kept_owner" if status == "assigned" else "still_queued")

    agent, reason = await _claim_owner(repo, event.customer_id, conversation_id, now)
    if agent is None:
        sequence = await repo.next_sequence(conversation_id)
        await tx.outbox.add(
            ConversationQueued(conversation_id=conversation_id, customer_id=event.customer_id,
                               priority=priority, sequence=sequence, queued_at=now),
            subject=str(conversation_id),
        )
        log.info("assignment.queued", conversation_id=str(conversation_id), priority=priority)
        return Routing("queued")
    await _assign(tx, repo, conversation_id, event.customer_id, priority, agent, reason, now)
    return Routing("assigned", agent.id)


async def reprioritise(tx: Tx, event: ConversationPrioritised) -> None:
    """A priority change (a deadline nearing, new weights) moves a queued conversation. It shares
    a partition with message.scored and comes before the one that introduces the conversation, so
    an unknown conversation is simply not ours yet. A change made by scoring a message is skipped:
    the message.scored right behind it carries the same priority (one write per message, not two)."""
    if event.reason == "message_scored":
        return
    status = await AssignmentRepository(tx.session).set_priority(
        event.conversation_id, event.priority)
    if status is not None:
        log.info("assignment.reprioritised", conversation_id=str(event.conversation_id),
                 status=status, priority=event.priority, reason=event.reason)


async def _claim_owner(repo: AssignmentRepository, customer_id: uuid.UUID,
                       conversation_id: uuid.UUID, now: datetime) -> tuple[Agent | None, Reason]:
    previous = await repo.previous_owner(customer_id, excluding=conversation_id)
    if previous is not None:
        agent = await repo.claim_agent(previous, now)
        if agent is not None:
            return agent, "previous_owner"
    agent = await repo.claim_least_loaded(now, wait=False)
    if agent is None:
        # About to queue. Under the queue lock a drain cannot run between this look and our commit
        # (it would not see our uncommitted conversation and the room it frees would go unused),
        # and waiting for agents being claimed right now finds room the fast path skipped.
        await repo.lock_queue()
        agent = await repo.claim_least_loaded(now, wait=True)
    return agent, "new"


async def _assign(tx: Tx, repo: AssignmentRepository, conversation_id: uuid.UUID,
                  customer_id: uuid.UUID, priority: float, agent: Agent, reason: Reason,
                  at: datetime) -> ConversationAssigned:
    """Record ``agent`` (whose slot the caller already claimed) as owner and announce it."""
    sequence = await repo.assign(conversation_id, agent.id, at)
    event = ConversationAssigned(
        conversation_id=conversation_id, customer_id=customer_id,
        agent=AgentRef(id=agent.id, name=agent.name, team=agent.team), reason=reason,
        priority=priority, sequence=sequence, assigned_at=at,
    )
    await tx.outbox.add(event, subject=str(conversation_id))
    log.info("assignment.assigned", conversation_id=str(conversation_id), agent_id=str(agent.id),
             reason=reason, sequence=sequence)
    return event


async def drain_queue(tx: Tx) -> list[ConversationAssigned]:
    """Give queued conversations (most urgent first, then oldest) to agents with room until one or
    the other runs out; reason ``capacity_freed``.

    Call it in the transaction that frees capacity (an agent comes online, capacity rises, later a
    conversation is resolved), after taking ``AssignmentRepository.lock_queue()`` *before* changing
    the agent row, so every transaction takes the queue lock before agent rows.
    """
    repo = AssignmentRepository(tx.session)
    await repo.lock_queue()
    now = datetime.now(UTC)
    assigned: list[ConversationAssigned] = []
    while (queued := await repo.lock_next_queued()) is not None:
        agent = await repo.claim_least_loaded(now, wait=True)
        if agent is None:
            break
        assigned.append(await _assign(tx, repo, queued.conversation_id, queued.customer_id,
                                      queued.priority, agent, "capacity_freed", now))
    if assigned:
        log.info("assignment.queue_drained", assigned=len(assigned))
    return assigned


# Agents


async def create_agent(tx: Tx, new: NewAgent) -> AgentOut:
    repo = AssignmentRepository(tx.session)
    await repo.lock_queue()
    agent = await repo.insert_agent(new.name, new.team, new.capacity, new.presence)
    if agent is None:
        raise Conflict(f"An agent named {new.name!r} already exists.")
    log.info("assignment.agent_created", agent_id=str(agent.id), presence=agent.presence)
    return await _drain_if_free(tx, repo, agent)


async def update_agent(tx: Tx, agent_id: uuid.UUID, change: AgentChange) -> AgentOut:
    repo = AssignmentRepository(tx.session)
    await repo.lock_queue()
    # Going away/offline, or capacity lowered below the current load, leaves the agent's open
    # conversations with them for now: reassigning them is a later issue.
    agent = await repo.update_agent(agent_id, change.model_dump(exclude_none=True))
    if agent is None:
        raise NotFound(f"No agent {agent_id}.")
    log.info("assignment.agent_updated", agent_id=str(agent_id),
             **change.model_dump(exclude_none=True))
    return await _drain_if_free(tx, repo, agent)


async def _drain_if_free(tx: Tx, repo: AssignmentRepository, agent: Agent) -> AgentOut:
    if agent.presence == "online" and agent.active_count < agent.capacity and await drain_queue(tx):
        agent = await repo.get_agent(agent.id) or agent  # its load changed
    return AgentOut.model_validate(agent)


async def seed_agents(tx: Tx, seeds: list[NewAgent]) -> int:
    """Create the seed agents that do not exist yet (by name); agents changed since through the API
    keep their changes. Returns how many were created."""
    repo = AssignmentRepository(tx.session)
    await repo.lock_queue()
    created = 0
    for seed in seeds:
        if await repo.insert_agent(seed.name, seed.team, seed.capacity, seed.presence) is not None:
            created += 1
    if created:
        await drain_queue(tx)
    log.info("assignment.agents_seeded", created=created, seeds=len(seeds))
    return created


async def get_agent(tx: Tx, agent_id: uuid.UUID) -> AgentOut:
    agent = await AssignmentRepository(tx.session).get_agent(agent_id)
    if agent is None:
        raise NotFound(f"No agent {agent_id}.")
    return AgentOut.model_validate(agent)


async def list_agents(tx: Tx) -> list[AgentOut]:
    return [AgentOut.model_validate(agent)
            for agent in await AssignmentRepository(tx.session).list_agents()]


async def queue(tx: Tx, limit: int) -> list[QueuedConversation]:
    return [QueuedConversation.model_validate(entry)
            for entry in await AssignmentRepository(tx.session).queue(limit)]
