"""Two assignment workers (each with its own connection pool, as two replicas have) on one real
PostgreSQL, under concurrent load: new conversations delivered to both (a redelivery after a
rebalance), follow-ups, resolutions, snoozes and wake-ups, agents coming and going, claims and
timer sweeps, all at once. No agent may ever hold more than its capacity and no conversation may
have two owners."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from sportello.contracts import ConversationStatusChanged
from sportello.db import Database
from sportello.db.database import create_engine
from sportello.http.problems import Conflict, NotFound
from sportello_assignment import manual, service
from sportello_assignment.component import COMPONENT
from sportello_assignment.sweeps import sweep
from sportello_assignment.tables import agents, conversations
from tests.assignment.support import RULES, add_agent, emitted, patch, route, scored
from tests.support.database import migrated_database, settings_for

CAPACITY = 3


@pytest.fixture
async def workers(fresh_database_url: str) -> AsyncIterator[tuple[Database, Database]]:
    async with migrated_database(COMPONENT, fresh_database_url) as first:
        engine = create_engine(settings_for(fresh_database_url))
        try:
            yield first, Database(engine, COMPONENT.metadata, source="sportello/assignment")
        finally:
            await engine.dispose()


async def _owned(db: Database) -> dict[uuid.UUID, int]:
    async with db.transaction() as tx:
        return dict((await tx.session.execute(
            select(conversations.c.agent_id, func.count()).where(conversations.c.status == "assigned")
            .group_by(conversations.c.agent_id))).all())


async def test_two_workers_never_overfill_an_agent_nor_assign_twice(
        workers: tuple[Database, Database]) -> None:
    one, two = workers
    team = [await add_agent(one, capacity=CAPACITY) for _ in range(4)]
    events = [scored(priority=random.Random(i).uniform(0, 100)) for i in range(60)]
    sequence: Counter[uuid.UUID] = Counter()
    overfilled: list[dict[uuid.UUID, int]] = []
    done = asyncio.Event()

    async def watch() -> None:
        while not done.is_set():
            owned = await _owned(one)
            if any(count > CAPACITY for count in owned.values()):
                overfilled.append(owned)
            await asyncio.sleep(0.005)

    async def change_status_of_some(db: Database, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(25):
            event = rng.choice(events)
            status, reason = rng.choice([("resolved", "resolved"), ("snoozed", "snoozed"),
                                         ("open", "snooze_ended"), ("open", "reopened_by_agent")])
            sequence[event.conversation_id] += 1
            async with db.transaction() as tx:
                await service.record_status(tx, ConversationStatusChanged(
                    conversation_id=event.conversation_id, customer_id=event.customer_id,
                    status=status, reason=reason,  # type: ignore[arg-type]
                    sequence=sequence[event.conversation_id], at=datetime.now(UTC)), RULES)
            await asyncio.sleep(0)

    async def come_and_go(db: Database, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(10):
            await patch(db, rng.choice(team).id, presence=rng.choice(["online", "away", "online"]))

    async def claim_some(db: Database, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(15):
            async with db.transaction() as tx:
                try:
                    await manual.assign_to(tx, rng.choice(events).conversation_id,
                                           rng.choice(team).id, RULES, "claimed", only_queued=True)
                except (Conflict, NotFound):
                    pass  # taken already, or full: what a real claim race looks like
            await asyncio.sleep(0)

    async def deliver(db: Database, batch: list[object]) -> None:
        for event in batch:
            await route(db, event)  # type: ignore[arg-type]

    watcher = asyncio.create_task(watch())
    follow_ups = [scored(e.conversation_id, e.customer_id, priority=90) for e in events[::3]]
    await asyncio.gather(
        deliver(one, [*events, *follow_ups]), deliver(two, [*reversed(events), *follow_ups]),
        change_status_of_some(one, 1), change_status_of_some(two, 2), come_and_go(one, 3), come_and_go(two, 4),
        claim_some(one, 5), claim_some(two, 6),
        sweep(one, RULES, datetime.now(UTC)), sweep(two, RULES, datetime.now(UTC)),
    )
    done.set()
    await watcher

    assert overfilled == []
    owned = await _owned(one)
    async with one.transaction() as tx:
        loads = {row.id: row for row in await tx.session.execute(
            select(agents.c.id, agents.c.active_count, agents.c.active))}
    for agent in team:
        # The slots on the agent's row are exactly the conversations they own.
        assert loads[agent.id].active_count == owned.get(agent.id, 0) <= CAPACITY
        assert sum(loads[agent.id].active.values()) == owned.get(agent.id, 0)
    for event in events:
        announced = await emitted(one, event.conversation_id)
        sequences = [payload["sequence"] for _, payload in announced]
        # One writer at a time per conversation: every announcement has its own sequence number,
        # and the first one (delivered to both workers) was decided once.
        assert sequences == list(range(1, len(sequences) + 1))
        assert announced[0][0] in ("conversation.assigned", "conversation.queued")
