"""Ours' queue order, on real PostgreSQL with a controlled clock: urgent, then high conversations
strictly first (each by SLA deadline, then waiting); below them normal and low together, the soonest
queue deadline first, where a conversation's queue deadline is its SLA deadline brought forward to
the longest wait after the customer started waiting (aging), then brought forward by the priority
head start."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from sportello.contracts import MessageScored
from sportello.db import Database
from sportello_assignment.component import COMPONENT
from sportello_assignment.policy import POLICIES, Rules
from sportello_assignment.repository import AssignmentRepository
from sportello_assignment.sweeps import sweep
from tests.assignment.support import (
    RULES,
    add_agent,
    conversation,
    patch,
    queue,
    route,
    rules,
    scored,
)
from tests.support.database import migrated_database

T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
HOUR = 3600.0
LOW, NORMAL, HIGH, URGENT = 10.0, 30.0, 60.0, 80.0  # priorities in each band
TARGET_H = {LOW: 24, NORMAL: 4, HIGH: 1, URGENT: 0.25}  # priority's default first-response targets


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def arriving(priority: float, hours: float) -> MessageScored:
    """A new conversation's first message at ``hours``, with its band's SLA deadline."""
    return scored(priority=priority, sent_at=at(hours)).model_copy(
        update={"sla_deadline": at(hours + TARGET_H[priority])})


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(COMPONENT, fresh_database_url) as database:
        yield database


def ahead(deadline: datetime, priority: float) -> datetime:
    """``deadline`` brought forward by the default head start for ``priority``."""
    return deadline - timedelta(seconds=RULES.priority_head_start_s * priority)


def test_the_queue_deadline_is_the_sla_deadline_brought_forward_to_the_longest_wait() -> None:
    four_hours = rules(longest_wait_s=4 * HOUR, priority_head_start_s=0)
    assert four_hours.queue_deadline(at(24), at(0), LOW) == at(4)
    assert four_hours.queue_deadline(at(1), at(0), LOW) == at(1)
    assert rules(longest_wait_s=0, priority_head_start_s=0).queue_deadline(at(24), at(0), LOW) \
        == at(24)
    # No SLA deadline, no queue deadline: the band decides among such conversations.
    assert four_hours.queue_deadline(None, at(0), LOW) is None


def test_each_priority_point_brings_the_queue_deadline_forward_by_the_head_start() -> None:
    two_minutes = rules(longest_wait_s=4 * HOUR, priority_head_start_s=120)
    assert two_minutes.queue_deadline(at(24), at(0), 30.0) == at(4) - timedelta(hours=1)
    assert two_minutes.queue_deadline(at(1), at(0), 0.0) == at(1)


async def test_the_more_pressing_of_two_customers_who_waited_about_as_long_goes_first(
        db: Database) -> None:
    # A complaint (40) has a head start of 25 points over a question (15): 12.5 minutes at the
    # default 30 s a point. It goes ahead of a question that came 10 minutes before it, not of
    # one that came 20 minutes before that.
    head_start = timedelta(seconds=25 * RULES.priority_head_start_s)
    question = scored(priority=15.0, sent_at=at(1))
    older = scored(priority=15.0, sent_at=at(1) - head_start * 0.8)
    complaint = scored(priority=40.0, sent_at=at(1) + head_start * 0.8)
    for event in (older, question, complaint):
        event = event.model_copy(update={"sla_deadline": event.sent_at + timedelta(hours=24)})
        assert (await route(db, event, now=event.sent_at)).outcome == "queued"

    assert await queue(db) == [older.conversation_id, complaint.conversation_id,
                               question.conversation_id]


async def test_within_the_longest_wait_the_sooner_sla_deadline_goes_first(db: Database) -> None:
    low, high = arriving(LOW, 0), arriving(HIGH, 1)
    assert (await route(db, low, now=at(0))).outcome == "queued"
    assert (await route(db, high, now=at(1))).outcome == "queued"

    assert await queue(db) == [high.conversation_id, low.conversation_id]


async def test_a_low_conversation_that_waited_past_the_longest_wait_goes_before_fresher_normal_ones(
        db: Database) -> None:
    low = arriving(LOW, 0)
    await route(db, low, now=at(0))
    normal = arriving(NORMAL, 5)
    await route(db, normal, now=at(5))

    # Low: due at 4 h (its longest wait); normal: at 9 h.
    assert await queue(db) == [low.conversation_id, normal.conversation_id]
    agent = await add_agent(db, capacity=1, presence="offline")
    await patch(db, agent.id, presence="online", now=at(5))
    assert (await conversation(db, low.conversation_id)).agent_id == agent.id


async def test_high_and_urgent_go_first_whatever_waited_below_them(db: Database) -> None:
    # Normal and low conversations long past their queue deadlines (due at 4 h)...
    low, normal = arriving(LOW, 0), arriving(NORMAL, 0)
    for event in (low, normal):
        await route(db, event, now=at(0))
    # ...do not overtake a fresh high one (due at 6 h), nor an urgent one.
    high, urgent = arriving(HIGH, 5), arriving(URGENT, 5.9)
    for event, hours in ((high, 5), (urgent, 5.9)):
        await route(db, event, now=at(hours))

    # Strictly by band at the top: urgent (due at 6.15 h) before high (due at 6 h). Below, normal
    # before low on the same queue deadline.
    assert await queue(db) == [urgent.conversation_id, high.conversation_id,
                               normal.conversation_id, low.conversation_id]
    agent = await add_agent(db, capacity=1, presence="offline")
    await patch(db, agent.id, presence="online", now=at(6))
    assert (await conversation(db, urgent.conversation_id)).agent_id == agent.id


async def test_within_the_top_bands_the_sooner_sla_deadline_then_the_longer_wait_goes_first(
        db: Database) -> None:
    early, late = arriving(HIGH, 0), arriving(HIGH, 0.5)
    for event, hours in ((late, 0.5), (early, 0)):
        await route(db, event, now=at(hours))
    assert await queue(db) == [early.conversation_id, late.conversation_id]


async def test_without_aging_the_deadline_alone_orders_the_queue(db: Database) -> None:
    strict = rules(longest_wait_s=0)
    low = arriving(LOW, 0)
    await route(db, low, strict, now=at(0))
    high, normal = arriving(HIGH, 5), arriving(NORMAL, 5)
    for event in (normal, high):
        await route(db, event, strict, now=at(5))

    assert await queue(db, strict) == \
        [high.conversation_id, normal.conversation_id, low.conversation_id]


async def test_a_conversation_taken_from_an_offline_owner_keeps_its_place(db: Database) -> None:
    owner = await add_agent(db, capacity=1)
    first = arriving(LOW, 0)
    await route(db, first, now=at(0))
    assert (await conversation(db, first.conversation_id)).agent_id == owner.id
    later = arriving(LOW, 0.5)
    assert (await route(db, later, now=at(0.5))).outcome == "queued"

    await patch(db, owner.id, presence="offline", now=at(2))
    await sweep(db, RULES, at(2) + timedelta(seconds=RULES.offline_grace_s + 1))

    # Back in the queue with the place it had (due at 4 h), not behind the one that came later.
    assert (await conversation(db, first.conversation_id)).queue_deadline == ahead(at(4), LOW)
    assert await queue(db) == [first.conversation_id, later.conversation_id]


async def test_a_new_deadline_of_a_queued_conversation_is_aged_from_when_it_was_queued(
        db: Database) -> None:
    waiting = arriving(LOW, 0)
    await route(db, waiting, now=at(0))
    assert (await conversation(db, waiting.conversation_id)).queue_deadline == ahead(at(4), LOW)

    # A follow-up makes it urgent enough for a 1-hour target: the sooner deadline wins.
    sooner = scored(conversation_id=waiting.conversation_id, customer_id=waiting.customer_id,
                    priority=HIGH, sent_at=at(1)).model_copy(update={"sla_deadline": at(2)})
    await route(db, sooner, now=at(1))
    assert (await conversation(db, waiting.conversation_id)).queue_deadline == ahead(at(2), HIGH)

    # A later deadline never pushes it past the longest wait counted from when it was queued.
    later = scored(conversation_id=waiting.conversation_id, customer_id=waiting.customer_id,
                   priority=LOW, sent_at=at(1.5)).model_copy(update={"sla_deadline": at(30)})
    await route(db, later, now=at(1.5))
    assert (await conversation(db, waiting.conversation_id)).queue_deadline == ahead(at(4), LOW)


async def worklist(db: Database, agent_id: uuid.UUID, with_rules: Rules = RULES) -> list[uuid.UUID]:
    async with db.transaction() as tx:
        rows = await AssignmentRepository(tx.session).worklist(agent_id, with_rules.policy, 10)
    return [row.id for row in rows]


async def test_the_agent_s_worklist_keeps_the_queue_order_not_the_order_taken(db: Database) -> None:
    """What the simulation found: an agent who takes a pressing conversation early and then,
    one freed slot at a time, older and less pressing ones, must not answer all of those first."""
    agent = await add_agent(db, capacity=1, presence="online")
    older = arriving(LOW, 0)  # queue deadline: 4 h (its longest wait) less its head start
    await route(db, older, now=at(0))  # taken at once: the agent had room
    # Arriving later by half the difference of the two head starts: due before the older one.
    later_h = (NORMAL - LOW) / 2 * RULES.priority_head_start_s / HOUR
    pressing = arriving(NORMAL, later_h)
    assert (await route(db, pressing, now=at(later_h))).outcome == "queued"
    await patch(db, agent.id, now=at(later_h), capacity=2)  # room: takes the pressing one second

    assert await worklist(db, agent.id) == [pressing.conversation_id, older.conversation_id]
    fifo = rules(policy=POLICIES["fewest_open"])
    assert await worklist(db, agent.id, fifo) == [older.conversation_id, pressing.conversation_id]
