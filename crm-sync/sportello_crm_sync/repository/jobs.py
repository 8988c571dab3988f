"""The durable delivery queue's SQL: enqueue, take a lane's head, settle an attempt, the log.

Lanes are kept in order by two rules:
- **A lane lock** (a transaction-scoped advisory lock on the lane's name) is taken by every enqueue
  and every settle. Jobs of one lane therefore get their ids in commit order, even when two consumer
  transactions (two partitions) enqueue into the same lane at once, and a settle never misses a job
  enqueued concurrently.
- **Only a lane's head is ever due.** A job enqueued behind a pending one is parked
  (``next_attempt_at = 'infinity'``); settling the head (done, failed, stopped) makes the next one
  due. So the due index holds one row per lane, however long a lane's backlog grows during an
  outage, and taking work stays cheap.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from sportello_crm_sync.tables import attempts, jobs, subscriptions

PARKED = text("'infinity'::timestamptz")
_AGAIN = "#again-"  # a resent job's key: the original's and a count


@dataclass(frozen=True)
class Job:
    id: int
    sink: str
    lane: str
    key: str
    kind: str
    subscription_id: uuid.UUID | None
    message_id: str | None
    payload: dict[str, Any]
    state: str
    attempts: int
    next_attempt_at: datetime | None  # None: parked behind an earlier job of its lane
    last_error: str | None
    retry_until: datetime | None
    created_at: datetime
    done_at: datetime | None


_JOB_COLUMNS = (jobs.c.id, jobs.c.sink, jobs.c.lane, jobs.c.key, jobs.c.kind, jobs.c.subscription_id,
                jobs.c.message_id, jobs.c.payload, jobs.c.state, jobs.c.attempts,
                jobs.c.next_attempt_at, jobs.c.last_error, jobs.c.retry_until, jobs.c.created_at,
                jobs.c.done_at)


def _job(row: Any) -> Job:
    values = dict(row._mapping)
    moment = values["next_attempt_at"]
    if moment is not None and moment.year == datetime.max.year:  # 'infinity' as the driver reads it
        values["next_attempt_at"] = None
    return Job(**values)


class JobQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_lane(self, lane: str) -> None:
        """Until this transaction ends, no one else enqueues into or settles a job of ``lane``.
        Callers that lock several lanes lock them in one order (subscription id), so two
        transactions never wait for each other."""
        await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(lane))))

    async def enqueue(self, *, sink: str, lane: str, key: str, kind: str, payload: dict[str, Any],
                      subscription_id: uuid.UUID | None = None,
                      message_id: str | None = None) -> int | None:
        """Add a job at the tail of its lane; its id, or None when ``(sink, key)`` is queued already."""
        await self.lock_lane(lane)
        behind = exists().where(jobs.c.lane == lane, jobs.c.state == "pending")
        due = select(func.now()).where(~behind).scalar_subquery()
        return (await self.session.execute(  # type: ignore[no-any-return]
            insert(jobs).values(sink=sink, lane=lane, key=key, kind=kind, payload=payload,
                                subscription_id=subscription_id, message_id=message_id,
                                next_attempt_at=func.coalesce(due, PARKED))
            .on_conflict_do_nothing(index_elements=[jobs.c.sink, jobs.c.key])
            .returning(jobs.c.id)
        )).scalar_one_or_none()

    async def take_due(self, sink: str, now: datetime) -> Job | None:
        """Lock one due job of ``sink`` that heads its lane, or None.

        ``SKIP LOCKED`` lets workers and replicas work side by side. The older-job check is a
        safety net (only heads are due); paused subscriptions' heads wait where they are.
        """
        older = aliased(jobs)
        query = (
            select(*_JOB_COLUMNS)
            .where(jobs.c.state == "pending", jobs.c.sink == sink, jobs.c.next_attempt_at <= now,
                   ~exists().where(and_(older.c.lane == jobs.c.lane, older.c.state == "pending",
                                        older.c.id < jobs.c.id)))
            .order_by(jobs.c.next_attempt_at, jobs.c.id)
            .limit(1)
            .with_for_update(of=jobs, skip_locked=True)
        )
        if sink == "webhook":
            query = query.where(~exists().where(subscriptions.c.id == jobs.c.subscription_id,
                                                subscriptions.c.status == "paused"))
        row = (await self.session.execute(query)).first()
        return _job(row) if row else None

    async def settle(self, job: Job, *, state: str, outcome: str, duration_ms: int,
                     next_attempt_at: datetime | None = None, retry_until: datetime | None = None,
                     status_code: int | None = None, error: str | None = None) -> None:
        """Record one attempt in the log and move the job on (done, failed, stopped, or retry);
        a job that leaves the lane makes the next one due."""
        attempt = job.attempts + 1
        values: dict[str, Any] = {"state": state, "attempts": attempt, "last_error": error}
        if state == "pending" and next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        if retry_until is not None:
            values["retry_until"] = retry_until
        if state != "pending":
            values["done_at"] = func.now()
            await self.lock_lane(job.lane)
        await self.session.execute(update(jobs).where(jobs.c.id == job.id).values(**values))
        await self.session.execute(attempts.insert().values(
            job_id=job.id, attempt=attempt, outcome=outcome, status_code=status_code, error=error,
            duration_ms=duration_ms))
        if state != "pending":
            await self._promote(job.lane)

    async def _promote(self, lane: str) -> None:
        """Make the lane's oldest pending job due (it was parked behind the one that left)."""
        head = (select(func.min(jobs.c.id))
                .where(jobs.c.lane == lane, jobs.c.state == "pending").scalar_subquery())
        await self.session.execute(
            update(jobs).where(jobs.c.id == head, jobs.c.next_attempt_at == PARKED)
            .values(next_attempt_at=func.now()))

    async def stop_subscription(self, subscription_id: uuid.UUID) -> int:
        """Every pending job of a subscription the subscriber has declared gone. Jobs other
        workers are sending right now are skipped: they find the subscription disabled when they
        settle, or the next time they are taken."""
        pending = (select(jobs.c.id)
                   .where(jobs.c.subscription_id == subscription_id, jobs.c.state == "pending")
                   .with_for_update(skip_locked=True))
        result = await self.session.execute(
            update(jobs).where(jobs.c.id.in_(pending))
            .values(state="stopped", done_at=func.now(), last_error="subscription disabled"))
        return result.rowcount  # type: ignore[attr-defined, no-any-return]

    async def park_subscription(self, subscription_id: uuid.UUID, paused: bool) -> None:
        """Pausing parks every pending job of a subscription; resuming makes each lane's head due."""
        if paused:
            await self.session.execute(
                update(jobs).where(jobs.c.subscription_id == subscription_id,
                                   jobs.c.state == "pending").values(next_attempt_at=PARKED))
            return
        older = aliased(jobs)
        await self.session.execute(
            update(jobs).where(jobs.c.subscription_id == subscription_id, jobs.c.state == "pending",
                               ~exists().where(and_(older.c.lane == jobs.c.lane,
                                                    older.c.state == "pending",
                                                    older.c.id < jobs.c.id)))
            .values(next_attempt_at=func.now()))

    async def send_again(self, job_id: int, sink: str) -> Job | None:
        """A new job at the tail of the original's lane: the same payload, the same webhook-id,
        fresh attempts and a fresh retry window. The original stays in the log as it ended."""
        original = await self.get(job_id, sink)
        if original is None:
            return None
        base = original.key.split(_AGAIN)[0]
        copies = (await self.session.execute(
            select(func.count()).where(jobs.c.sink == sink,
                                       jobs.c.key.startswith(base + _AGAIN)))).scalar_one()
        new_id = await self.enqueue(sink=sink, lane=original.lane,
                                    key=f"{base}{_AGAIN}{copies + 1}", kind=original.kind,
                                    payload=original.payload,
                                    subscription_id=original.subscription_id,
                                    message_id=original.message_id)
        assert new_id is not None, "a fresh key is never queued already"
        return await self.get(new_id, sink)

    async def get(self, job_id: int, sink: str) -> Job | None:
        row = (await self.session.execute(
            select(*_JOB_COLUMNS).where(jobs.c.id == job_id, jobs.c.sink == sink))).first()
        return _job(row) if row else None

    async def listing(self, sink: str, *, subscription_id: uuid.UUID | None = None,
                      state: str | None = None, after: int | None = None,
                      limit: int = 100) -> list[Job]:
        """Newest first; ``after`` is the last id of the previous page."""
        query = select(*_JOB_COLUMNS).where(jobs.c.sink == sink)
        if subscription_id is not None:
            query = query.where(jobs.c.subscription_id == subscription_id)
        if state is not None:
            query = query.where(jobs.c.state == state)
        if after is not None:
            query = query.where(jobs.c.id < after)
        rows = await self.session.execute(query.order_by(jobs.c.id.desc()).limit(limit))
        return [_job(row) for row in rows]

    async def attempts_of(self, job_id: int) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(attempts.c.attempt, attempts.c.at, attempts.c.outcome, attempts.c.status_code,
                   attempts.c.error, attempts.c.duration_ms)
            .where(attempts.c.job_id == job_id).order_by(attempts.c.attempt))
        return [dict(row._mapping) for row in rows]

    async def backlog(self, sink: str) -> dict[str, Any]:
        """Pending count and the oldest pending job's creation time, for the status endpoint."""
        row = (await self.session.execute(
            select(func.count(), func.min(jobs.c.created_at))
            .where(jobs.c.sink == sink, jobs.c.state == "pending"))).one()
        return {"pending": row[0], "oldest_pending_at": row[1]}

