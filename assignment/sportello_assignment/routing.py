"""Routing: who takes a conversation, and which conversation an agent with room takes next.

Every function works inside the caller's transaction and announces what it did through the outbox.
Decisions that may leave a conversation waiting take the queue lock first (see ``repository``), so
a drain never misses a conversation being queued at the same moment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

import structlog

from sportello.contracts import AgentRef, ConversationAssigned, ConversationQueued
from sportello.contracts.events import AssignReason, QueueReason
from sportello.db import Tx
from sportello_assignment.policy import Rules
from sportello_assignment.repository import (
    Agent,
    AssignmentRepository,
    Conversation,
    Need,
    due_in_queue,
    kept_in_queue,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Routing:
    """What routing did with one conversation (for logs and tests; events carry the rest)."""

    outcome: Literal["assigned", "queued", "reserved", "kept_owner", "still_queued", "bot",
                     "resolved", "snoozed"]
    agent_id: uuid.UUID | None = None


def need_of(conversation: Conversation) -> Need:
    """What an agent must have to take the conversation; widening drops team and skills, never the
    channel (an agent without access to a channel cannot answer there)."""
    if conversation.widened:
        return Need(channel=conversation.channel, avoid=conversation.avoid_agent_id)
    return Need(channel=conversation.channel, team=conversation.team,
                language=conversation.language, topic=conversation.topic,
                avoid=conversation.avoid_agent_id)


async def place(tx: Tx, conversation: Conversation, rules: Rules, now: datetime,
                reason: QueueReason, *, sticky_owner: uuid.UUID | None = None,
                previous_agent_id: uuid.UUID | None = None) -> Routing:
    """Route a conversation that is waiting (status queued): to its last owner if they can take
    it, reserved for them if they may soon, else to the best agent with room, else it waits."""
    repo = AssignmentRepository(tx.session)
    if rules.policy.sticky and sticky_owner is not None:
        owner = await repo.claim(sticky_owner, conversation.channel, now)
        if owner is not None:
            await assign(tx, repo, conversation, owner, "previous_owner", rules, now,
                         previous_agent_id=previous_agent_id)
            return Routing("assigned", owner.id)
        known = await repo.get_agent(sticky_owner)
        if known is not None and known.presence != "offline" and rules.sticky_wait_s > 0:
            # They are busy or on a break: the customer waits a little for the agent who knows them.
            await repo.lock_queue()
            conversation = await repo.update_conversation(conversation.id, {
                "reserved_for": known.id,
                "reserved_until": now + timedelta(seconds=rules.sticky_wait_s)})
            await announce_queued(tx, repo, conversation, reason, now, previous_agent_id)
            return Routing("reserved", known.id)
    agent = await repo.claim_best(need_of(conversation), rules.policy, now, wait=False)
    if agent is None:
        # About to queue. Under the queue lock a drain cannot run between this look and our
        # commit (it would not see our uncommitted conversation and the room it frees would go
        # unused), and waiting for agents being claimed right now finds room the fast path skipped.
        await repo.lock_queue()
        agent = await repo.claim_best(need_of(conversation), rules.policy, now, wait=True)
    if agent is None:
        await announce_queued(tx, repo, conversation, reason, now, previous_agent_id)
        return Routing("queued")
    await assign(tx, repo, conversation, agent, "new" if reason == "new" else "capacity_freed",
                 rules, now, previous_agent_id=previous_agent_id)
    return Routing("assigned", agent.id)


async def assign(tx: Tx, repo: AssignmentRepository, conversation: Conversation, agent: Agent,
                 reason: AssignReason, rules: Rules, now: datetime, *,
                 previous_agent_id: uuid.UUID | None = None) -> ConversationAssigned:
    """Record ``agent`` (whose slot the caller already claimed) as owner and announce it."""
    timeout = rules.reply_timeout(conversation.band_rank)
    updated = await repo.update_conversation(conversation.id, {
        "status": "assigned", "agent_id": agent.id, "assigned_at": now, "queued_at": None,
        "reserved_for": None, "reserved_until": None, "widen_at": None,
        "reply_due_at": now + timedelta(seconds=timeout) if timeout else None,
    }, announce=True)
    event = ConversationAssigned(
        conversation_id=conversation.id, customer_id=conversation.customer_id,
        agent=AgentRef(id=agent.id, name=agent.name, team=agent.team), reason=reason,
        priority=conversation.priority, sequence=updated.sequence, assigned_at=now,
        previous_agent_id=previous_agent_id,
    )
    await tx.outbox.add(event, subject=str(conversation.id))
    log.info("assignment.assigned", conversation_id=str(conversation.id), agent_id=str(agent.id),
             reason=reason, sequence=updated.sequence)
    return event


async def announce_queued(tx: Tx, repo: AssignmentRepository, conversation: Conversation,
                          reason: QueueReason, now: datetime,
                          previous_agent_id: uuid.UUID | None = None) -> None:
    updated = await repo.update_conversation(conversation.id, {}, announce=True)
    await tx.outbox.add(
        ConversationQueued(conversation_id=conversation.id, customer_id=conversation.customer_id,
                           priority=conversation.priority, sequence=updated.sequence,
                           queued_at=conversation.queued_at or now, reason=reason,
                           previous_agent_id=previous_agent_id, team=conversation.team,
                           note=conversation.handoff_note if reason == "handoff" else None),
        subject=str(conversation.id),
    )
    log.info("assignment.queued", conversation_id=str(conversation.id), reason=reason,
             priority=conversation.priority)


def waiting_values(now: datetime, rules: Rules, *, team: str | None, topic: str | None,
                   language: str | None) -> dict[str, object]:
    """The columns of a conversation entering the queue afresh (an UPDATE: the queue deadline is
    computed from the stored SLA deadline)."""
    restricted = rules.policy.skills and any(x is not None for x in (team, topic, language))
    return {"status": "queued", "queued_at": now, "reply_due_at": None, "reserved_for": None,
            "reserved_until": None, "widened": False,
            "queue_deadline": due_in_queue(rules, now),
            "widen_at": now + timedelta(seconds=rules.widen_after_s) if restricted else None}


async def requeue(tx: Tx, conversation: Conversation, rules: Rules, now: datetime,
                  reason: QueueReason, *, avoid: uuid.UUID | None = None) -> Routing:
    """Take an assigned conversation from its owner (freeing their slot) and route it again; the
    owner stays recorded as last owner. A conversation taken for not answering never goes back to
    the same agent. It keeps its queue deadline: the customer has been waiting all along, and
    going to the back of the queue would restart their wait."""
    repo = AssignmentRepository(tx.session)
    owner = conversation.agent_id
    if conversation.status == "assigned" and owner is not None:
        await repo.release(owner, conversation.channel)
    updated = await repo.update_conversation(conversation.id, {
        **waiting_values(now, rules, team=conversation.team, topic=conversation.topic,
                          language=conversation.language),
        "queue_deadline": kept_in_queue(rules, now),
        "avoid_agent_id": avoid})
    return await place(tx, updated, rules, now, reason, previous_agent_id=owner)


async def reassign(tx: Tx, conversation: Conversation, rules: Rules,
                   now: datetime) -> uuid.UUID | None:
    """The owner has not answered in time and has not answered anyone lately: move the
    conversation to an agent who is less loaded than the owner and may take it now, and never
    back to this owner. When nobody is, it stays (a move into the queue would only make the
    customer wait longer) and is checked again after another timeout. Returns the new owner."""
    repo = AssignmentRepository(tx.session)
    owner_id = conversation.agent_id
    assert owner_id is not None
    owner = await repo.get_agent(owner_id)
    timeout = rules.reply_timeout(conversation.band_rank) or 0
    if owner is not None and owner.last_seen_at > now - timedelta(seconds=rules.working_s):
        # Answering others right now: working through their conversations, not gone. Moving
        # this one would throw away a reply they may be writing; look again a little later.
        await repo.update_conversation(conversation.id, {
            "reply_due_at": now + timedelta(seconds=min(timeout, rules.working_s))})
        return None
    need = replace(need_of(conversation), avoid=owner_id,
                   below_load=owner.load if owner is not None else None)
    agent = await repo.claim_best(need, rules.policy, now, wait=True)
    if agent is None:
        await repo.update_conversation(conversation.id, {
            "reply_due_at": now + timedelta(seconds=timeout)})
        return None
    await repo.release(owner_id, conversation.channel)
    moved = await repo.update_conversation(conversation.id, {"avoid_agent_id": owner_id})
    await assign(tx, repo, moved, agent, "reassigned", rules, now, previous_agent_id=owner_id)
    return agent.id


async def drain_for(tx: Tx, agent_id: uuid.UUID, rules: Rules,
                    now: datetime) -> list[ConversationAssigned]:
    """Give this agent queued conversations (the policy's order, within their skills) until they
    are full or nothing they may take is waiting. Call it in the transaction that freed room."""
    repo = AssignmentRepository(tx.session)
    await repo.lock_queue()
    assigned: list[ConversationAssigned] = []
    # Each claim returns the agent's row as it now is: the next round needs no second read.
    agent = await repo.get_agent(agent_id)
    while agent is not None and agent.presence == "online":
        conversation = await repo.next_for(agent, rules.policy, rules.channels)
        if conversation is None:
            break
        claimed = await repo.claim(agent.id, conversation.channel, now)
        if claimed is None:
            break
        reason: AssignReason = ("previous_owner" if conversation.reserved_for == agent.id
                                else "capacity_freed")
        assigned.append(await assign(tx, repo, conversation, claimed, reason, rules, now))
        agent = claimed
    if assigned:
        log.info("assignment.queue_drained", agent_id=str(agent_id), assigned=len(assigned))
    return assigned


async def drain_all(tx: Tx, rules: Rules, now: datetime) -> int:
    """Offer the queue to every online agent, least loaded first (after seeding or a restart)."""
    repo = AssignmentRepository(tx.session)
    await repo.lock_queue()
    total = 0
    for agent_id in await repo.with_room():
        total += len(await drain_for(tx, agent_id, rules, now))
    return total
