"""The queue's ordering rules on real PostgreSQL: ids follow commit order within a lane, only a
lane's head is ever due, and a job sent again joins the tail of its lane."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from sportello.db import Database
from sportello_crm_sync.component import COMPONENT
from sportello_crm_sync.repository import Job, JobQueries
from tests.support.database import migrated_database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(COMPONENT, database_url) as database:
        yield database


async def enqueue(db: Database, lane: str, key: str) -> int:
    async with db.transaction() as tx:
        job_id = await JobQueries(tx.session).enqueue(sink="crm", lane=lane, key=key, kind="history",
                                                      payload={"n": key})
    assert job_id is not None
    return job_id


async def take(db: Database, lane: str) -> Job | None:
    """The due job of ``lane`` (other tests' lanes share the table: skip theirs)."""
    async with db.transaction() as tx:
        due = [job for job in await JobQueries(tx.session).listing("crm", state="pending", limit=500)
               if job.lane == lane and job.next_attempt_at is not None
               and job.next_attempt_at <= datetime.now(UTC)]
    assert len(due) <= 1, "a lane never has two due jobs"
    return due[0] if due else None


async def settle(db: Database, job: Job, state: str = "done") -> None:
    async with db.transaction() as tx:
        await JobQueries(tx.session).settle(job, state=state, outcome="synced", duration_ms=1)


async def test_only_the_head_of_a_lane_is_due_and_settling_it_makes_the_next_due(db: Database) -> None:
    lane = f"crm:{uuid.uuid4()}"
    first, second, third = [await enqueue(db, lane, f"{lane}-{n}") for n in range(3)]
    head = await take(db, lane)
    assert head is not None and head.id == first
    await settle(db, head)
    nxt = await take(db, lane)
    assert nxt is not None and nxt.id == second
    await settle(db, nxt, state="failed")  # given up: the lane goes on all the same
    last = await take(db, lane)
    assert last is not None and last.id == third


async def test_a_lane_gets_its_ids_in_commit_order_under_concurrent_enqueues(db: Database) -> None:
    lane = f"crm:{uuid.uuid4()}"
    async with db.transaction() as first:
        await JobQueries(first.session).enqueue(sink="crm", lane=lane, key=f"{lane}-a", kind="history",
                                                payload={})
        # A second consumer enqueues into the same lane meanwhile: it must wait for the first.
        second = asyncio.create_task(enqueue(db, lane, f"{lane}-b"))
        await asyncio.sleep(0.3)
        assert not second.done()
    b = await second
    async with db.transaction() as tx:
        jobs = [j for j in await JobQueries(tx.session).listing("crm", limit=500) if j.lane == lane]
    a = next(j for j in jobs if j.key.endswith("-a"))
    assert a.id < b
    head = await take(db, lane)
    assert head is not None and head.id == a.id  # b waits behind a, whatever the partitions did


async def test_sending_a_job_again_joins_the_tail_of_its_lane(db: Database) -> None:
    lane = f"crm:{uuid.uuid4()}"
    first = await enqueue(db, lane, f"{lane}-1")
    await enqueue(db, lane, f"{lane}-2")
    async with db.transaction() as tx:
        again = await JobQueries(tx.session).send_again(first, "crm")
    assert again is not None and again.id > first
    assert again.payload == {"n": f"{lane}-1"} and again.attempts == 0
    head = await take(db, lane)
    assert head is not None and head.id == first  # the original still heads; the copy is parked
    assert again.next_attempt_at is None  # parked
    async with db.transaction() as tx:
        twice = await JobQueries(tx.session).send_again(again.id, "crm")
    assert twice is not None and twice.key == f"{lane}-1#again-2"
