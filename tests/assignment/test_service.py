"""Assignment's routing rules against real PostgreSQL. Each test gets a fresh database: the rules
pick "any online agent", so agents of other tests must not be visible."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from sportello.db import Database
from sportello.http.problems import NotFound
from sportello_assignment import agents
from sportello_assignment.schemas import AgentOut, NewAgent
from sportello_assignment.tables import conversations
from tests.assignment.support import (
    CAPACITY,
    RULES,
    add_agent,
    emitted,
    get_agent,
    patch,
    queue,
    route,
    scored,
    set_load,
)


async def test_new_conversation_goes_to_an_online_agent_with_sequence_1(db: Database) -> None:
    await add_agent(db, capacity=3, presence="away")
    online = await add_agent(db, capacity=3)
    event = scored(priority=72.5)

    routing = await route(db, event)

    assert routing.outcome == "assigned" and routing.agent_id == online.id
    [(event_type, payload)] = await emitted(db, event.conversation_id)
    assert event_type == "conversation.assigned"
    assert payload["agent"]["id"] == str(online.id)
    assert payload["reason"] == "new"
    assert payload["sequence"] == 1
    assert payload["priority"] == 72.5
    assert payload["customer_id"] == str(event.customer_id)
    assert (await get_agent(db, online.id)).active_count == 1


async def test_owner_is_kept_and_only_the_priority_changes(db: Database) -> None:
    owner = await add_agent(db, capacity=5)
    first = scored(priority=10)
    await route(db, first)
    await add_agent(db, capacity=5)  # less loaded now, but the conversation has an owner

    routing = await route(db, scored(first.conversation_id, first.customer_id, priority=95))

    assert routing.outcome == "kept_owner"
    assert len(await emitted(db, first.conversation_id)) == 1
    assert (await get_agent(db, owner.id)).active_count == 1
    async with db.transaction() as tx:
        row = (await tx.session.execute(
            select(conversations.c.agent_id, conversations.c.priority)
            .where(conversations.c.id == first.conversation_id))).one()
    assert row.agent_id == owner.id and row.priority == 95


async def test_previous_owner_is_preferred_over_a_less_loaded_agent(db: Database) -> None:
    previous = await add_agent(db, capacity=5)
    customer = uuid.uuid4()
    await route(db, scored(customer_id=customer))
    other = await add_agent(db, capacity=5)  # 0/5 against the previous owner's 1/5

    routing = await route(db, scored(customer_id=customer))

    assert routing.agent_id == previous.id
    assert (await get_agent(db, other.id)).active_count == 0
    assert (await get_agent(db, previous.id)).active_count == 2


async def test_previous_owner_offline_falls_back_to_least_loaded(db: Database) -> None:
    previous = await add_agent(db, capacity=5)
    customer = uuid.uuid4()
    await route(db, scored(customer_id=customer))
    await patch(db, previous.id, presence="offline")
    other = await add_agent(db, capacity=5)
    event = scored(customer_id=customer)

    routing = await route(db, event)

    assert routing.agent_id == other.id
    [(_, payload)] = await emitted(db, event.conversation_id)
    assert payload["reason"] == "new"


async def test_least_loaded_by_ratio_of_capacity(db: Database) -> None:
    busy = await add_agent(db, capacity=4)
    roomy = await add_agent(db, capacity=10)
    await set_load(db, busy.id, 2)  # 0.5
    await set_load(db, roomy.id, 3)  # 0.3

    assert (await route(db, scored())).agent_id == roomy.id


async def test_equal_load_goes_to_who_was_assigned_least_recently(db: Database) -> None:
    recent = await add_agent(db, capacity=2)
    waiting = await add_agent(db, capacity=2)
    now = datetime.now(UTC)
    await set_load(db, recent.id, 1, now - timedelta(minutes=1))
    await set_load(db, waiting.id, 1, now - timedelta(hours=1))

    assert (await route(db, scored())).agent_id == waiting.id


async def test_queued_when_nobody_has_room(db: Database) -> None:
    full = await add_agent(db, capacity=1)
    await add_agent(db, capacity=5, presence="offline")
    await route(db, scored())
    event = scored(priority=40)

    routing = await route(db, event)

    assert routing.outcome == "queued"
    [(event_type, payload)] = await emitted(db, event.conversation_id)
    assert event_type == "conversation.queued"
    assert payload["sequence"] == 1 and payload["priority"] == 40
    assert (await get_agent(db, full.id)).active_count == 1
    assert await queue(db) == [event.conversation_id]
    # A later message of a queued conversation re-prioritises it and emits nothing.
    assert (await route(db, scored(event.conversation_id, event.customer_id, 60))).outcome == \
        "still_queued"
    assert len(await emitted(db, event.conversation_id)) == 1


async def test_queue_is_drained_in_priority_order_when_capacity_frees(db: Database) -> None:
    alice = await add_agent(db, capacity=1)
    await route(db, scored())
    low, mid, mid_later = scored(priority=10), scored(priority=80), scored(priority=80)
    for event in (low, mid, mid_later):
        assert (await route(db, event)).outcome == "queued"
    # Re-scoring moves `low` to the head of the queue.
    await route(db, scored(low.conversation_id, low.customer_id, priority=90))
    order = await queue(db)
    assert order == [low.conversation_id, mid.conversation_id, mid_later.conversation_id]

    await patch(db, alice.id, capacity=3)  # two slots free up

    for event in (low, mid):
        [_, (event_type, payload)] = await emitted(db, event.conversation_id)
        assert event_type == "conversation.assigned"
        assert payload["reason"] == "capacity_freed"
        assert payload["sequence"] == 2
        assert payload["agent"]["id"] == str(alice.id)
    assert (await emitted(db, low.conversation_id))[1][1]["priority"] == 90
    assert len(await emitted(db, mid_later.conversation_id)) == 1
    assert (await get_agent(db, alice.id)).active_count == 3

    bob = await add_agent(db, capacity=1, presence="away")
    await patch(db, bob.id, presence="online")  # coming online frees capacity too

    [_, (_, payload)] = await emitted(db, mid_later.conversation_id)
    assert payload["agent"]["id"] == str(bob.id) and payload["reason"] == "capacity_freed"
    assert await queue(db) == []


async def test_lowering_capacity_or_going_offline_keeps_conversations(db: Database) -> None:
    agent = await add_agent(db, capacity=3)
    events = [scored(), scored()]
    for event in events:
        await route(db, event)

    await patch(db, agent.id, capacity=1, presence="offline")

    assert (await get_agent(db, agent.id)).active_count == 2
    async with db.transaction() as tx:
        owners = (await tx.session.execute(
            select(conversations.c.agent_id).where(
                conversations.c.id.in_([e.conversation_id for e in events])))).scalars().all()
    assert owners == [agent.id, agent.id]
    assert (await route(db, scored())).outcome == "queued"


async def test_capacity_is_never_exceeded_under_concurrency(db: Database) -> None:
    two = await add_agent(db, capacity=2)
    three = await add_agent(db, capacity=3)
    await add_agent(db, capacity=10, presence="away")
    events = [scored() for _ in range(20)]

    routings = await asyncio.gather(*(route(db, event) for event in events))

    assert sorted(r.outcome for r in routings).count("assigned") == 5
    assert [r.outcome for r in routings].count("queued") == 15
    assert (await get_agent(db, two.id)).active_count == 2
    assert (await get_agent(db, three.id)).active_count == 3
    async with db.transaction() as tx:
        per_agent = dict((await tx.session.execute(
            select(conversations.c.agent_id, func.count())
            .where(conversations.c.status == "assigned").group_by(conversations.c.agent_id)
        )).all())
    assert per_agent == {two.id: 2, three.id: 3}


async def test_one_conversation_scored_concurrently_is_assigned_once(db: Database) -> None:
    agent = await add_agent(db, capacity=10)
    first = scored()
    same = [scored(first.conversation_id, first.customer_id, priority=p) for p in range(10, 60, 10)]

    routings = await asyncio.gather(*(route(db, event) for event in [first, *same]))

    assert [r.outcome for r in routings].count("assigned") == 1
    assert len(await emitted(db, first.conversation_id)) == 1
    assert (await get_agent(db, agent.id)).active_count == 1


async def test_concurrent_drains_and_new_conversations_never_overfill(db: Database) -> None:
    agent = await add_agent(db, capacity=1)
    await route(db, scored())
    for _ in range(5):
        await route(db, scored())  # queued
    late = await add_agent(db, capacity=1, presence="away")

    await asyncio.gather(patch(db, agent.id, capacity=4), patch(db, late.id, presence="online"),
                         *(route(db, scored()) for _ in range(5)))

    assert (await get_agent(db, agent.id)).active_count == 4
    assert (await get_agent(db, late.id)).active_count == 1
    assert len(await queue(db)) == 6  # 11 conversations, 5 slots


async def test_update_of_unknown_agent_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        await patch(db, uuid.uuid4(), capacity=2)


async def test_seeding_is_idempotent_by_name_and_drains_the_queue(db: Database) -> None:
    queued = scored()
    assert (await route(db, queued)).outcome == "queued"
    seeds = [NewAgent(name="Ada", team="care", capacity=2, presence="online"),
             NewAgent(name="Bo", team="sales", capacity=1, presence="away")]

    async with db.transaction() as tx:
        assert await agents.seed_agents(tx, seeds, RULES, CAPACITY) == 2
    ada = next(a for a in await _agents(db) if a.name == "Ada")
    await patch(db, ada.id, capacity=5)
    async with db.transaction() as tx:
        assert await agents.seed_agents(tx, seeds, RULES, CAPACITY) == 0

    assert {(a.name, a.capacity) for a in await _agents(db)} == {("Ada", 5), ("Bo", 1)}
    [_, (_, payload)] = await emitted(db, queued.conversation_id)
    assert payload["agent"]["name"] == "Ada" and payload["reason"] == "capacity_freed"


async def _agents(db: Database) -> list[AgentOut]:
    async with db.transaction() as tx:
        return await agents.list_agents(tx)
