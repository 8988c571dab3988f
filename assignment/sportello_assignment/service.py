"""A conversation's life as assignment follows it from events: scored messages open or continue it,
priority changes move it in the queue (and SLA warnings escalate it), the owner's replies stop the
no-reply timer, resolutions and snoozes free the owner's slot, and a customer's return or the end of
a snooze brings it back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import structlog

from sportello.contracts import (
    ConversationEscalated,
    ConversationPrioritised,
    ConversationStatusChanged,
    MessageScored,
    ReplyRequested,
)
from sportello.contracts.events import QueueReason
from sportello.contracts.priority import band_of
from sportello.db import Tx
from sportello_assignment.policy import Rules, band_rank
from sportello_assignment.repository import (
    AssignmentRepository,
    Conversation,
    due_with_new_priority,
)
from sportello_assignment.routing import Routing, assign, drain_for, place, waiting_values

log = structlog.get_logger(__name__)

# What a conversation out of the active inbox (resolved, snoozed) must not keep: a place in the
# queue and the timers of the sweeps.
_NO_TIMERS: dict[str, object] = {
    "queued_at": None, "reply_due_at": None, "escalated_at": None, "reserved_for": None,
    "reserved_until": None, "widen_at": None}


async def route_scored_message(tx: Tx, event: MessageScored, rules: Rules,
                               now: datetime | None = None) -> Routing:
    repo = AssignmentRepository(tx.session)
    now = now or datetime.now(UTC)
    priority = event.conversation_priority
    rank = band_rank(event.conversation_band or band_of(priority))
    team = await repo.team_for_account(event.account) or rules.default_team
    topic = event.intent.name if event.intent is not None else None
    bot = event.channel in rules.bot_channels
    conversation = await repo.insert_conversation({
        "id": event.conversation_id, "customer_id": event.customer_id, "channel": event.channel,
        "account": event.account, "language": event.language, "topic": topic, "team": team,
        "priority": priority, "band_rank": rank, "sla_deadline": event.sla_deadline,
        "last_inbound_at": event.sent_at,
        **waiting_values(now, rules, team=team, topic=topic, language=event.language),
        "queue_deadline": rules.queue_deadline(event.sla_deadline, now, priority),
        **({"status": "bot", "queued_at": None, "widen_at": None} if bot else {}),
    })
    if conversation is not None:
        if bot:
            log.info("assignment.held_by_bot", conversation_id=str(event.conversation_id))
            return Routing("bot")
        previous = await repo.previous_owner(event.customer_id, excluding=event.conversation_id)
        return await place(tx, conversation, rules, now, "new", sticky_owner=previous)

    # Known conversation: the owner keeps it end to end; a queued one keeps its place in time and
    # moves only through its priority. Neither is news, so nothing is emitted. One that may be
    # reopened takes the queue lock before its row (the lock order of ``repository``); so does a
    # snoozed one, which ingest may wake or resolve while we look.
    current = await repo.get_conversation(event.conversation_id)
    if current is not None and current.status in ("resolved", "waiting", "snoozed"):
        await repo.lock_queue()
    known = await repo.record_inbound(event.conversation_id, event.sent_at, {
        "priority": priority, "band_rank": rank, "sla_deadline": event.sla_deadline,
        "queue_deadline": due_with_new_priority(rules, event.sla_deadline, priority)})
    if known.status == "resolved" and (known.resolved_at is None
                                       or event.sent_at > known.resolved_at):
        return await _reopen(tx, repo, known, rules, now, "reopened")
    if known.status == "waiting":
        # The customer answered: back to the owner if they have room, else after the sticky wait
        # to anyone (the owner's slot was given back when they replied).
        return await _reopen(tx, repo, known, rules, now, "follow_up")
    # Snoozed: the message is recorded (its priority orders the queue once it wakes) but it stays
    # parked. ingest owns the status and publishes the wake-up for this very message; deciding
    # here too would route it twice.
    log.info("assignment.reprioritised", conversation_id=str(event.conversation_id),
             status=known.status, priority=priority)
    return Routing("kept_owner" if known.status == "assigned" else
                   "bot" if known.status == "bot" else
                   "resolved" if known.status == "resolved" else
                   "snoozed" if known.status == "snoozed" else "still_queued")


async def reprioritise(tx: Tx, event: ConversationPrioritised, rules: Rules,
                       now: datetime | None = None) -> None:
    """A priority change (a deadline nearing, new weights) moves a queued conversation, and an SLA
    warning on an unanswered one puts it in the supervisors' queue. It shares a partition with
    message.scored and comes before the one that introduces the conversation, so an unknown
    conversation is simply not ours yet. A change made by scoring a message is skipped: the
    message.scored right behind it carries the same priority (one write per message, not two)."""
    if event.reason == "message_scored":
        return
    repo = AssignmentRepository(tx.session)
    sla = event.sla
    deadline = sla.deadline if sla else None
    conversation = await repo.update_if_known(event.conversation_id, {
        "priority": event.priority, "band_rank": band_rank(event.band), "sla_deadline": deadline,
        "queue_deadline": due_with_new_priority(rules, deadline, event.priority)})
    if conversation is None:
        return
    log.info("assignment.reprioritised", conversation_id=str(event.conversation_id),
             status=conversation.status, priority=event.priority, reason=event.reason)
    if (rules.policy.reassign and sla is not None and sla.stage in rules.escalate_stages
            and sla.kind != "resolution" and conversation.escalated_at is None
            and conversation.status in ("queued", "assigned")):
        await _escalate(tx, repo, conversation, sla.stage, now or datetime.now(UTC))


async def record_reply(tx: Tx, conversation_id: uuid.UUID, agent_id: uuid.UUID | None,
                       at: datetime, rules: Rules, now: datetime | None = None) -> None:
    """Someone answered the customer: the no-reply timer and any escalation end, and the agent
    was active just now. An agent answering a conversation still in the queue takes the case
    (``conversation.assigned`` reason ``claimed``) when they have room, so that nobody answers
    it a second time. Under a policy that releases on reply, an answer newer than the customer's
    last message frees the owner's slot (the ball is in the customer's court) and hands the
    owner their next conversation."""
    repo = AssignmentRepository(tx.session)
    now = now or at
    # The queue lock comes before the conversation's row: a slot may be freed (releasing on
    # reply) or claimed (an answer to a queued conversation; only then is a first look needed).
    lock = rules.policy.release_on_reply
    if not lock and agent_id is not None:
        peek = await repo.get_conversation(conversation_id)
        lock = peek is not None and peek.status == "queued"
    if lock:
        await repo.lock_queue()
    conversation = await repo.get_conversation(conversation_id, lock=True)
    if conversation is None:
        return
    if conversation.status == "queued" and agent_id is not None:
        conversation = await _taken_by_replier(tx, repo, conversation, agent_id, rules, now)
    changes: dict[str, object] = {}
    if conversation.reply_due_at is not None or conversation.escalated_at is not None:
        changes.update(reply_due_at=None, escalated_at=None)
    owner = conversation.agent_id
    release = (rules.policy.release_on_reply and conversation.status == "assigned"
               and owner is not None
               and (conversation.last_inbound_at is None or at >= conversation.last_inbound_at))
    if release:
        assert owner is not None
        await repo.release(owner, conversation.channel)
        changes.update(status="waiting")
    if changes:
        await repo.update_conversation(conversation_id, changes)
    if agent_id is not None:
        await repo.touch([agent_id], at)
    if release:
        assert owner is not None
        await drain_for(tx, owner, rules, now)


async def _taken_by_replier(tx: Tx, repo: AssignmentRepository, conversation: Conversation,
                            agent_id: uuid.UUID, rules: Rules, now: datetime) -> Conversation:
    """The agent who answered a queued conversation (from the conversation view, or in the channel
    itself) owns it from now on: left in the queue, the next agent would answer the customer again.
    An agent without room on its channel cannot take it (capacity holds for everyone); it stays
    queued and the log says so."""
    claimed = await repo.claim(agent_id, conversation.channel, now, online_only=False)
    if claimed is None:
        log.warning("assignment.reply_while_queued", conversation_id=str(conversation.id),
                    agent_id=str(agent_id), reason="no room or no such agent")
        return conversation
    await assign(tx, repo, conversation, claimed, "claimed", rules, now)
    taken = await repo.get_conversation(conversation.id)
    assert taken is not None
    return taken


async def on_reply_requested(tx: Tx, event: ReplyRequested, rules: Rules) -> None:
    await record_reply(tx, event.conversation_id, _uuid_or_none(event.agent_id),
                       event.requested_at, rules)


async def record_status(tx: Tx, event: ConversationStatusChanged, rules: Rules,
                        now: datetime | None = None) -> None:
    """ingest resolved, snoozed or (re)opened the conversation. Resolving or snoozing frees the
    owner's slot (and hands them the next queued conversation); reopening or waking a snoozed one
    routes it again, to the same owner if possible. An older status change than one already
    applied is ignored (a redelivery too: its sequence is the one applied)."""
    repo = AssignmentRepository(tx.session)
    await repo.lock_queue()  # before the conversation's row: freeing or routing follows
    conversation = await repo.get_conversation(event.conversation_id, lock=True)
    if conversation is None or event.sequence <= conversation.status_sequence:
        return
    now = now or datetime.now(UTC)
    conversation = await repo.update_conversation(conversation.id,
                                                  {"status_sequence": event.sequence})
    if event.status == "resolved":
        await _resolve(tx, conversation, rules, event.at, now)
    elif event.status == "snoozed":
        await _snooze(tx, conversation, rules, now)
    elif conversation.status == "resolved":
        await _reopen(tx, repo, conversation, rules, now, "reopened")
    elif conversation.status == "snoozed":
        await _reopen(tx, repo, conversation, rules, now, "unsnoozed")


async def _resolve(tx: Tx, conversation: Conversation, rules: Rules, at: datetime,
                   now: datetime) -> None:
    """Close the conversation and free its owner's slot; the caller holds the queue lock."""
    if conversation.status == "resolved":
        return
    await _leave_inbox(tx, conversation, rules, now, {"status": "resolved", "resolved_at": at})


async def _snooze(tx: Tx, conversation: Conversation, rules: Rules, now: datetime) -> None:
    """Park the conversation: its owner stays recorded (the sticky owner when it wakes) but gets
    the slot back and their next queued conversation. The queue, the drains and every sweep read
    only queued or assigned conversations, so nothing moves it until ingest wakes or resolves it.
    The caller holds the queue lock."""
    if conversation.status == "snoozed":
        return  # a new end of the same snooze: ingest's timer, nothing to do here
    # resolved_at goes too: ingest only snoozes open conversations, so a resolution we still
    # hold was undone by a reopen we have not seen; what ingest says now is what counts.
    await _leave_inbox(tx, conversation, rules, now, {"status": "snoozed", "resolved_at": None})


async def _leave_inbox(tx: Tx, conversation: Conversation, rules: Rules, now: datetime,
                       values: dict[str, object]) -> None:
    """Resolved or snoozed: out of the queue and the sweeps' timers; an owner holding it gets the
    slot back and, in the same transaction, their next queued conversation."""
    repo = AssignmentRepository(tx.session)
    owner = conversation.agent_id if conversation.status == "assigned" else None
    if owner is not None:
        await repo.release(owner, conversation.channel)
    await repo.update_conversation(conversation.id, {**values, **_NO_TIMERS})
    log.info(f"assignment.{values['status']}", conversation_id=str(conversation.id),
             was=conversation.status,
             agent_id=str(conversation.agent_id) if conversation.agent_id else None,
             slot_freed=owner is not None)
    if owner is not None:
        await drain_for(tx, owner, rules, now)


async def _reopen(tx: Tx, repo: AssignmentRepository, conversation: Conversation, rules: Rules,
                  now: datetime, reason: QueueReason) -> Routing:
    reopened = await repo.update_conversation(conversation.id, {
        **waiting_values(now, rules, team=conversation.team, topic=conversation.topic,
                         language=conversation.language),
        "resolved_at": None, "avoid_agent_id": None})
    return await place(tx, reopened, rules, now, reason, sticky_owner=conversation.agent_id)


async def _escalate(tx: Tx, repo: AssignmentRepository, conversation: Conversation, stage: str,
                    now: datetime) -> None:
    updated = await repo.update_conversation(conversation.id, {"escalated_at": now},
                                             announce=True)
    await tx.outbox.add(ConversationEscalated(
        conversation_id=conversation.id, customer_id=conversation.customer_id,
        agent_id=conversation.agent_id if conversation.status == "assigned" else None,
        stage=stage, deadline=conversation.sla_deadline, sequence=updated.sequence, at=now,
    ), subject=str(conversation.id))
    log.warning("assignment.escalated", conversation_id=str(conversation.id), stage=stage)


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None  # an integration's own id for its sender, not one of our agents
