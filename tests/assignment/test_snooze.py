"""Snoozed conversations on real PostgreSQL with a controlled clock: a snooze frees the owner's slot
and hands them their next conversation, no sweep touches a snoozed conversation, waking it goes back
to its owner (or the queue, reason ``unsnoozed``), and ingest's status order is respected."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import get_args

import pytest

from sportello.contracts import ConversationStatusChanged, MessageScored
from sportello.contracts.events import ConversationStatus
from sportello.db import Database
from sportello.http.problems import Conflict
from sportello_assignment import manual, service
from sportello_assignment.schemas import Handoff
from sportello_assignment.sweeps import sweep
from tests.assignment.support import (
    RULES,
    add_agent,
    at,
    conversation,
    emitted,
    get_agent,
    patch,
    queue,
    route,
    rules,
    scored,
)
from tests.assignment.test_reprioritise import prioritised, reprioritise

_REASONS = {"open": "unsnoozed_by_agent", "snoozed": "snoozed", "resolved": "resolved"}


async def status(db: Database, event: MessageScored, status: ConversationStatus, sequence: int,
                 when: datetime) -> None:
    assert status in get_args(ConversationStatus)
    async with db.transaction() as tx:
        await service.record_status(tx, ConversationStatusChanged(
            conversation_id=event.conversation_id, customer_id=event.customer_id, status=status,
            reason=_REASONS[status], sequence=sequence, at=when,  # type: ignore[arg-type]
            snoozed_until=when + timedelta(hours=2) if status == "snoozed" else None,
        ), RULES, when)


async def kinds_and_reasons(db: Database, conversation_id: uuid.UUID) -> list[tuple[str, str]]:
    return [(kind, payload.get("reason", "")) for kind, payload in
            await emitted(db, conversation_id)]


# Snoozing


async def test_snoozing_frees_the_owner_s_slot_and_hands_them_the_next_conversation(
        db: Database) -> None:
    owner = await add_agent(db, capacity=1)
    parked, waiting = scored(priority=80), scored()
    await route(db, parked, now=at(0))
    assert (await route(db, waiting, now=at(1))).outcome == "queued"

    await status(db, parked, "snoozed", 1, at(10))

    snoozed = await conversation(db, parked.conversation_id)
    assert (snoozed.status, snoozed.agent_id) == ("snoozed", owner.id)  # still the owner's
    assert (snoozed.queued_at, snoozed.reply_due_at, snoozed.escalated_at, snoozed.reserved_for,
            snoozed.reserved_until, snoozed.widen_at) == (None,) * 6
    assert (await conversation(db, waiting.conversation_id)).agent_id == owner.id
    assert (await kinds_and_reasons(db, waiting.conversation_id))[-1] == \
        ("conversation.assigned", "capacity_freed")
    assert (await get_agent(db, owner.id)).active_count == 1  # the new one, not the snoozed one
    # The owner does not change: nothing to announce about the parked conversation.
    assert await kinds_and_reasons(db, parked.conversation_id) == [("conversation.assigned", "new")]


@pytest.mark.parametrize("state", ["queued", "waiting", "bot"])
async def test_a_queued_waiting_or_bot_conversation_is_parked_without_touching_slots(
        db: Database, state: str) -> None:
    with_rules = rules(bot_channels=frozenset({"x"})) if state == "bot" else RULES
    owner = await add_agent(db, capacity=2, with_rules=with_rules)
    holding = scored()
    await route(db, holding, with_rules, now=at(0))  # one slot of two taken, by another case
    if state == "queued":
        await patch(db, owner.id, presence="away", now=at(1))
    event = scored(channel="x", language="it")  # restricted: it has a widening timer
    await route(db, event, with_rules, now=at(2))
    if state == "waiting":
        async with db.transaction() as tx:
            await service.record_reply(tx, event.conversation_id, owner.id, at(3), with_rules)
    before = await conversation(db, event.conversation_id)
    assert before.status == state

    async with db.transaction() as tx:
        await service.record_status(tx, ConversationStatusChanged(
            conversation_id=event.conversation_id, customer_id=event.customer_id,
            status="snoozed", reason="snoozed", sequence=1, at=at(4)), with_rules, at(4))

    after = await conversation(db, event.conversation_id)
    assert (after.status, after.agent_id) == ("snoozed", before.agent_id)
    assert (after.queued_at, after.widen_at) == (None, None)
    assert await queue(db) == []
    assert (await get_agent(db, owner.id)).active_count == 1  # only the other conversation


async def test_sweeps_and_queue_drains_leave_a_snoozed_conversation_alone(db: Database) -> None:
    owner = await add_agent(db, capacity=3)
    unanswered = scored(priority=80)  # urgent: re-assigned after 300 s without a reply
    earlier = scored()
    italian = scored(customer_id=earlier.customer_id, language="it")
    await route(db, unanswered, now=at(0))
    await route(db, earlier, now=at(1))
    await patch(db, owner.id, capacity=2, now=at(1))  # full now
    # The returning customer waits for their owner (a reservation), and only for agents speaking
    # Italian until the restriction widens.
    await route(db, italian, now=at(2))
    queued = await conversation(db, italian.conversation_id)
    assert (queued.status, queued.reserved_for) == ("queued", owner.id)
    assert queued.widen_at is not None
    await status(db, italian, "snoozed", 1, at(3))
    await status(db, unanswered, "snoozed", 1, at(3))
    events_before = {e.conversation_id: await emitted(db, e.conversation_id)
                     for e in (unanswered, italian)}

    # Everything that moves conversations: owner offline past the grace, overdue replies, SLA
    # warnings, widening and reservations running out, and an agent with room draining the queue.
    await patch(db, owner.id, presence="offline", now=at(10))
    await add_agent(db, capacity=5)
    for event in (unanswered, italian):
        await reprioritise(db, prioritised(event.conversation_id, event.customer_id, 95,
                                           "sla_checkpoint", 5, band="urgent", stage="breached"))
    for seconds in (400, 700, 4000):
        await sweep(db, RULES, at(seconds))

    for event, agent_id in ((unanswered, owner.id), (italian, None)):
        parked = await conversation(db, event.conversation_id)
        assert (parked.status, parked.agent_id, parked.escalated_at) == ("snoozed", agent_id, None)
        assert await emitted(db, event.conversation_id) == events_before[event.conversation_id]
    assert (await conversation(db, earlier.conversation_id)).agent_id != owner.id  # swept away
    assert await queue(db) == []


# Waking


async def test_waking_goes_back_to_the_owner_with_room(db: Database) -> None:
    owner = await add_agent(db, capacity=2)
    event = scored()
    await route(db, event, now=at(0))
    await status(db, event, "snoozed", 1, at(10))
    await add_agent(db, capacity=5)  # emptier than the owner, never assigned: would win otherwise

    await status(db, event, "open", 2, at(7200))

    woken = await conversation(db, event.conversation_id)
    assert (woken.status, woken.agent_id) == ("assigned", owner.id)
    assert (await kinds_and_reasons(db, event.conversation_id))[-1] == \
        ("conversation.assigned", "previous_owner")
    assert (await get_agent(db, owner.id)).active_count == 1


async def test_waking_queues_for_a_full_owner_with_reason_unsnoozed(db: Database) -> None:
    owner = await add_agent(db, capacity=1)
    parked, next_one = scored(), scored()
    await route(db, parked, now=at(0))
    await route(db, next_one, now=at(1))
    await status(db, parked, "snoozed", 1, at(10))  # the owner takes next_one
    assert (await get_agent(db, owner.id)).active_count == 1

    await status(db, parked, "open", 2, at(7200))

    woken = await conversation(db, parked.conversation_id)
    assert (woken.status, woken.reserved_for) == ("queued", owner.id)  # waits a while for them
    assert await queue(db) == [parked.conversation_id]
    [*_, (kind, payload)] = await emitted(db, parked.conversation_id)
    assert (kind, payload["reason"]) == ("conversation.queued", "unsnoozed")
    # The owner frees up: it is theirs again.
    await status(db, next_one, "resolved", 1, at(7300))
    assert (await conversation(db, parked.conversation_id)).agent_id == owner.id


async def test_waking_with_the_owner_offline_and_nobody_free_queues_it(db: Database) -> None:
    owner = await add_agent(db, capacity=2)
    event = scored()
    await route(db, event, now=at(0))
    await status(db, event, "snoozed", 1, at(10))
    await patch(db, owner.id, presence="offline", now=at(20))

    await status(db, event, "open", 2, at(7200))

    woken = await conversation(db, event.conversation_id)
    assert (woken.status, woken.reserved_for, woken.queued_at) == ("queued", None, at(7200))
    assert (await kinds_and_reasons(db, event.conversation_id))[-1] == \
        ("conversation.queued", "unsnoozed")


# Other events while snoozed


async def test_resolving_a_snoozed_conversation_frees_nothing_more(db: Database) -> None:
    owner = await add_agent(db, capacity=2)
    parked, other = scored(), scored()
    await route(db, parked, now=at(0))
    await route(db, other, now=at(1))
    await status(db, parked, "snoozed", 1, at(10))
    assert (await get_agent(db, owner.id)).active_count == 1

    await status(db, parked, "resolved", 2, at(20))

    resolved = await conversation(db, parked.conversation_id)
    assert (resolved.status, resolved.resolved_at) == ("resolved", at(20))
    assert (await get_agent(db, owner.id)).active_count == 1  # the slot went back at the snooze


async def test_a_snooze_after_a_resolution_we_hold_follows_ingest(db: Database) -> None:
    owner = await add_agent(db, capacity=2)
    event = scored()
    await route(db, event, now=at(0))
    await status(db, event, "resolved", 1, at(10))
    # ingest reopened it (sequence 2, not delivered here yet), then it was snoozed.
    await status(db, event, "snoozed", 3, at(20))

    parked = await conversation(db, event.conversation_id)
    assert (parked.status, parked.resolved_at, parked.agent_id) == ("snoozed", None, owner.id)
    assert (await get_agent(db, owner.id)).active_count == 0
    await status(db, event, "open", 2, at(15))  # the reopen, late: older than the snooze
    assert (await conversation(db, event.conversation_id)).status == "snoozed"


async def test_a_customer_message_while_snoozed_is_recorded_and_ingest_wakes_it(
        db: Database) -> None:
    owner = await add_agent(db, capacity=2)
    event = scored(priority=30)
    await route(db, event, now=at(0))
    await status(db, event, "snoozed", 1, at(10))

    follow_up = scored(event.conversation_id, event.customer_id, priority=70, sent_at=at(100))
    routing = await route(db, follow_up, now=at(100))

    assert routing.outcome == "snoozed"
    parked = await conversation(db, event.conversation_id)
    assert (parked.status, parked.priority, parked.last_inbound_at) == ("snoozed", 70, at(100))
    assert (await get_agent(db, owner.id)).active_count == 0
    assert len(await emitted(db, event.conversation_id)) == 1  # only the first assignment
    # ingest's wake-up for that message (unsnoozed_by_customer) routes it, once.
    await status(db, event, "open", 2, at(101))
    assert (await conversation(db, event.conversation_id)).status == "assigned"
    assert (await route(db, follow_up, now=at(102))).outcome == "kept_owner"  # a redelivery
    assert (await get_agent(db, owner.id)).active_count == 1


async def test_stale_and_repeated_status_changes_are_ignored(db: Database) -> None:
    owner = await add_agent(db, capacity=2)
    event = scored()
    await route(db, event, now=at(0))
    await status(db, event, "snoozed", 2, at(10))

    await status(db, event, "snoozed", 2, at(10))  # redelivered
    await status(db, event, "open", 1, at(5))  # older than the snooze
    await status(db, event, "resolved", 1, at(5))
    assert (await conversation(db, event.conversation_id)).status == "snoozed"
    assert (await get_agent(db, owner.id)).active_count == 0  # released once, not below zero

    await status(db, event, "open", 3, at(7200))
    await status(db, event, "open", 3, at(7200))  # redelivered
    assert (await conversation(db, event.conversation_id)).status == "assigned"
    assert (await get_agent(db, owner.id)).active_count == 1
    assert len(await emitted(db, event.conversation_id)) == 2  # new, then previous_owner

    # A snooze with a new end is a newer status change, and a no-op here once snoozed.
    await status(db, event, "snoozed", 4, at(7300))
    await status(db, event, "snoozed", 5, at(7400))
    assert (await conversation(db, event.conversation_id)).status == "snoozed"
    assert (await get_agent(db, owner.id)).active_count == 0


async def test_a_snoozed_conversation_cannot_be_assigned_or_handed_off(db: Database) -> None:
    agent = await add_agent(db, capacity=2)
    event = scored()
    await route(db, event, now=at(0))
    await status(db, event, "snoozed", 1, at(10))

    async with db.transaction() as tx:
        with pytest.raises(Conflict):
            await manual.assign_to(tx, event.conversation_id, agent.id, RULES, now=at(20))
    async with db.transaction() as tx:
        with pytest.raises(Conflict):
            await manual.handoff(tx, event.conversation_id, Handoff(), RULES, now=at(20))
    assert (await get_agent(db, agent.id)).active_count == 0
