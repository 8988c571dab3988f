"""What people do to routing through the API: a supervisor assigns, an owner or supervisor transfers,
an agent claims from the queue, a bot hands a conversation over to people."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import structlog

from sportello.contracts.events import AssignReason
from sportello.db import Tx
from sportello.http.problems import Conflict, NotFound
from sportello_assignment.policy import Rules
from sportello_assignment.repository import AssignmentRepository, Conversation, due_in_queue
from sportello_assignment.routing import assign, drain_for, place, requeue
from sportello_assignment.schemas import ConversationRouting, Handoff, Transfer

log = structlog.get_logger(__name__)

# Conversations with an owner: holding one of their slots, or waiting on the customer.
_OWNED = ("assigned", "waiting")


async def assign_to(tx: Tx, conversation_id: uuid.UUID, agent_id: uuid.UUID, rules: Rules,
                    reason: AssignReason = "manual", *, only_queued: bool = False,
                    now: datetime | None = None) -> ConversationRouting:
    """Give the conversation to this agent (who must have room on its channel; a person chose
    them, so an away agent may be chosen). Its previous owner's slot is freed."""
    now = now or datetime.now(UTC)
    repo = AssignmentRepository(tx.session)
    await repo.lock_queue()
    conversation = await _open_conversation(repo, conversation_id)
    if only_queued and conversation.status != "queued":
        raise Conflict("The conversation is not waiting in the queue; someone already has it.")
    if conversation.status in _OWNED and conversation.agent_id == agent_id:
        return _routing(conversation)  # already theirs: a repeated request changes nothing
    agent = await repo.get_agent(agent_id)
    if agent is None:
        raise NotFound(f"No agent {agent_id}.")
    claimed = await repo.claim(agent_id, conversation.channel, now, online_only=False)
    if claimed is None:
        raise Conflict(f"{agent.name} has no room on {conversation.channel} "
                       f"({agent.capacity_on(conversation.channel)} open).")
    previous = conversation.agent_id if conversation.status in _OWNED else None
    if previous is not None and conversation.status == "assigned":
        await repo.release(previous, conversation.channel)  # a waiting one holds no slot
    await assign(tx, repo, conversation, claimed, reason, rules, now, previous_agent_id=previous)
    if previous is not None and conversation.status == "assigned":
        await drain_for(tx, previous, rules, now)
    log.info("assignment.manual", conversation_id=str(conversation_id), agent_id=str(agent_id),
             reason=reason)
    return ConversationRouting(conversation_id=conversation_id, status="assigned",
                               agent_id=agent_id)


async def transfer(tx: Tx, conversation_id: uuid.UUID, target: Transfer, rules: Rules,
                   now: datetime | None = None) -> ConversationRouting:
    if target.agent_id is not None:
        return await assign_to(tx, conversation_id, target.agent_id, rules, "transfer", now=now)
    now = now or datetime.now(UTC)
    repo = AssignmentRepository(tx.session)
    await repo.lock_queue()
    conversation = await _open_conversation(repo, conversation_id)
    moved = await repo.update_conversation(conversation.id, {
        "team": target.team, "widened": False, "handoff_note": target.note,
        "widen_at": now + timedelta(seconds=rules.widen_after_s)})
    owner = conversation.agent_id if conversation.status in _OWNED else None
    routing = await requeue(tx, moved, rules, now, "transfer", avoid=owner)
    if owner is not None and conversation.status == "assigned":
        await drain_for(tx, owner, rules, now)
    return ConversationRouting(conversation_id=conversation_id,
                               status="assigned" if routing.agent_id else "queued",
                               agent_id=routing.agent_id)


async def handoff(tx: Tx, conversation_id: uuid.UUID, request: Handoff, rules: Rules,
                  now: datetime | None = None) -> ConversationRouting:
    """The bot gives up: the conversation joins the human queue (its messages are already in the
    conversation's timeline; the bot's note travels with the queued event)."""
    now = now or datetime.now(UTC)
    repo = AssignmentRepository(tx.session)
    await repo.lock_queue()
    conversation = await repo.get_conversation(conversation_id, lock=True)
    if conversation is None:
        raise NotFound(f"No conversation {conversation_id}.")
    if conversation.status != "bot":
        if conversation.status in ("queued", *_OWNED):
            return _routing(conversation)  # handed off already: a retry changes nothing
        raise Conflict(f"The conversation is {conversation.status}, not held by a bot.")
    waiting = await repo.update_conversation(conversation_id, {
        "status": "queued", "queued_at": now, "handoff_note": request.note,
        "queue_deadline": due_in_queue(rules, now)})
    routing = await place(tx, waiting, rules, now, "handoff")
    log.info("assignment.handoff", conversation_id=str(conversation_id), outcome=routing.outcome)
    return ConversationRouting(conversation_id=conversation_id,
                               status="assigned" if routing.agent_id else "queued",
                               agent_id=routing.agent_id)


async def _open_conversation(repo: AssignmentRepository,
                             conversation_id: uuid.UUID) -> Conversation:
    conversation = await repo.get_conversation(conversation_id, lock=True)
    if conversation is None:
        raise NotFound(f"No conversation {conversation_id}.")
    if conversation.status not in ("queued", *_OWNED):
        raise Conflict(f"The conversation is {conversation.status}; it cannot be assigned now.")
    return conversation


def _routing(conversation: Conversation) -> ConversationRouting:
    return ConversationRouting(conversation_id=conversation.id, status=conversation.status,
                               agent_id=conversation.agent_id
                               if conversation.status in _OWNED else None)
