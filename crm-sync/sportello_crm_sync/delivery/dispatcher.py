"""The workers that empty the durable queue: take a lane's head, call its sink, settle the attempt.

One transaction per attempt: the job row stays locked while its call runs, so no other worker (in
this process or another replica) takes it or the next job of its lane. If the process dies mid-call
the lock goes with the connection and the job is due again: a destination can see a job twice, with
the same key (CRM) or the same ``webhook-id`` (webhooks), never lose one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

import structlog

from sportello.db import Database, Tx
from sportello_crm_sync.delivery import metrics
from sportello_crm_sync.repository import Job, JobQueries

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to. ``retry``: try again after ``backoff`` (a floor of
    ``retry_after``) unless the job's retry window is over; ``give_up``: failed for good."""

    result: Literal["done", "retry", "give_up", "stopped"]
    label: str
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None


class Sink(Protocol):
    name: str

    def allow(self, now: datetime) -> bool:
        """May a call to this sink start now (its circuit breaker)?"""

    def cancel(self) -> None:
        """``allow`` said yes but no job of this sink was taken."""

    def backoff(self, job: Job, outcome: Outcome) -> float:
        """Seconds before the next attempt after a failed one."""

    def retry_window(self) -> float | None:
        """Seconds a job may keep failing before it is given up; None: retried for ever."""

    async def deliver(self, tx: Tx, job: Job, now: datetime) -> Outcome: ...


class Dispatcher:
    def __init__(self, db: Database, sinks: list[Sink], *, workers: int, poll_seconds: float) -> None:
        self.db = db
        self.sinks = {sink.name: sink for sink in sinks}
        self.workers = workers
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._turn = 0

    def wake(self) -> None:
        """New work was committed: idle workers look now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        await asyncio.gather(*(self._work(n) for n in range(self.workers)))

    async def _work(self, worker: int) -> None:
        while True:
            try:
                worked = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The transaction rolled back: the job is still pending and will be taken again.
                log.exception("delivery.worker_failed", worker=worker)
                worked = False
            if not worked:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                except TimeoutError:
                    pass

    async def run_once(self) -> bool:
        """Work one due job, if any; True when one was worked. Sinks take turns, so a busy one
        (a webhook backlog) never starves another (the CRM's catch-up)."""
        now = datetime.now(UTC)
        self._turn += 1
        names = list(self.sinks)
        names = names[self._turn % len(names):] + names[:self._turn % len(names)]
        allowed = [name for name in names if self.sinks[name].allow(now)]
        worked: str | None = None
        try:
            for name in allowed:
                if await self._work_one(self.sinks[name], now):
                    worked = name
                    return True
            return False
        finally:
            for name in allowed:
                if name != worked:
                    self.sinks[name].cancel()  # allowed but nothing taken: give a probe back

    async def _work_one(self, sink: Sink, now: datetime) -> bool:
        async with self.db.transaction() as tx:
            queries = JobQueries(tx.session)
            job = await queries.take_due(sink.name, now)
            if job is None:
                return False
            started = time.perf_counter()
            try:
                outcome = await sink.deliver(tx, job, now)
            except Exception as exc:
                # A bug or an answer nobody foresaw: logged and retried with backoff like any
                # failure, never spun on at poll speed. (A database error breaks the transaction:
                # the settle below fails too, and the job is simply taken again later.)
                log.exception("delivery.unexpected_error", sink=sink.name, job_id=job.id)
                sink.cancel()
                outcome = Outcome("retry", "error", error=type(exc).__name__)
            elapsed = time.perf_counter() - started
            # The next attempt counts from the answer (Retry-After is relative to it).
            state = await self._settle(queries, sink, job, outcome, datetime.now(UTC), elapsed)
        metrics.ATTEMPTS.labels(sink=sink.name, outcome=outcome.label).inc()
        metrics.SECONDS.labels(sink=sink.name).observe(elapsed)
        if state != "pending":
            metrics.SETTLED.labels(sink=sink.name, state=state).inc()
        return True

    async def _settle(self, queries: JobQueries, sink: Sink, job: Job, outcome: Outcome,
                      now: datetime, elapsed: float) -> str:
        """Record the attempt and move the job on; the state it is left in."""
        state = {"done": "done", "stopped": "stopped", "give_up": "failed", "retry": "pending"}[
            outcome.result]
        next_at: datetime | None = None
        retry_until: datetime | None = None
        if state == "pending":
            window = sink.retry_window()
            if job.retry_until is None and window is not None:
                # From the job's creation, not its first failure: jobs queued behind a failing one
                # are not granted a window of their own each (a lane would take k days to give up).
                retry_until = job.created_at + timedelta(seconds=window)
            next_at = now + timedelta(seconds=sink.backoff(job, outcome))
            if next_at > (job.retry_until or retry_until or next_at):
                state = "failed"
        if state == "failed":
            log.warning("delivery.failed", sink=job.sink, job_id=job.id, attempts=job.attempts + 1,
                        error=outcome.error)
        await queries.settle(job, state=state, outcome=outcome.label,
                             duration_ms=round(elapsed * 1000), next_attempt_at=next_at,
                             retry_until=retry_until, status_code=outcome.status_code,
                             error=outcome.error)
        return state
