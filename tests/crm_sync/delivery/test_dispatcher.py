"""The dispatcher on real PostgreSQL: a sink that fails in a way nobody foresaw is retried with
backoff and logged, never spun on, and the breaker's probe is given back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from sportello.db import Database, Tx
from sportello_crm_sync.component import COMPONENT
from sportello_crm_sync.delivery.dispatcher import Dispatcher, Outcome
from sportello_crm_sync.repository import Job, JobQueries
from tests.support.database import migrated_database


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(COMPONENT, fresh_database_url) as database:
        yield database


class Exploding:
    name = "crm"

    def __init__(self) -> None:
        self.cancelled = 0

    def allow(self, now: datetime) -> bool:
        return True

    def cancel(self) -> None:
        self.cancelled += 1

    def backoff(self, job: Job, outcome: Outcome) -> float:
        return 60.0

    def retry_window(self) -> float | None:
        return None

    async def deliver(self, tx: Tx, job: Job, now: datetime) -> Outcome:
        raise OverflowError("date value out of range")


async def test_an_unexpected_error_is_a_logged_attempt_with_backoff(db: Database) -> None:
    async with db.transaction() as tx:
        job_id = await JobQueries(tx.session).enqueue(
            sink="crm", lane=f"crm:{uuid.uuid4()}", key=str(uuid.uuid4()), kind="history", payload={})
    sink = Exploding()
    dispatcher = Dispatcher(db, [sink], workers=1, poll_seconds=1)

    assert await dispatcher.run_once()
    assert not await dispatcher.run_once()  # not due again for a minute

    async with db.transaction() as tx:
        queries = JobQueries(tx.session)
        job = await queries.get(job_id or 0, "crm")
        log = await queries.attempts_of(job_id or 0)
    assert job is not None and job.state == "pending" and job.attempts == 1
    assert job.next_attempt_at is not None
    assert (job.next_attempt_at - datetime.now(UTC)).total_seconds() > 50
    assert [(a["outcome"], a["error"]) for a in log] == [("error", "OverflowError")]
    assert sink.cancelled >= 1  # a probe it may have held is given back
