"""The durable delivery queue's SQL: enqueue, take a lane's head, settle an attempt, the log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from sportello_crm_sync.tables import attempts, jobs, subscriptions


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
    next_attempt_at: datetime
    last_error: str | None
    retry_until: datetime | None
    created_at: datetime
    done_at: datetime | None


_JOB_COLUMNS = (jobs.c.id, jobs.c.sink, jobs.c.lane, jobs.c.key, jobs.c.kind, jobs.c.subscription_id,
                jobs.c.message_id, jobs.c.payload, jobs.c.state, jobs.c.attempts,
                jobs.c.next_attempt_at, jobs.c.last_error, jobs.c.retry_until, jobs.c.created_at,
                jobs.c.done_at)


class JobQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(self, *, sink: str, lane: str, key: str, kind: str, payload: dict[str, Any],
                      subscription_id: uuid.UUID | None = None,
                      message_id: str | None = None) -> bool:
        """Add a job at the tail of its lane; False when ``(sink, key)`` is already queued."""
        inserted = (await self.session.execute(
            insert(jobs).values(sink=sink, lane=lane, key=key, kind=kind, payload=payload,
                                subscription_id=subscription_id, message_id=message_id)
            .on_conflict_do_nothing(index_elements=[jobs.c.sink, jobs.c.key])
            .returning(jobs.c.id)
        )).scalar_one_or_none()
        return inserted is not None

    async def take_due(self, sinks: tuple[str, ...], now: datetime) -> Job | None:
        """Lock one due job that heads its lane (no older pending job in the lane), or None.

        ``SKIP LOCKED`` lets replicas work side by side; a lane's next job cannot be taken while its
        head is being worked, because the head is still pending until that transaction commits.
        """
        older = aliased(jobs)
        active = or_(jobs.c.subscription_id.is_(None), exists().where(
            subscriptions.c.id == jobs.c.subscription_id, subscriptions.c.status == "active"))
        query = (
            select(*_JOB_COLUMNS)
            .where(jobs.c.state == "pending", jobs.c.next_attempt_at <= now, jobs.c.sink.in_(sinks),
                   active,
                   ~exists().where(and_(older.c.lane == jobs.c.lane, older.c.state == "pending",
                                        older.c.id < jobs.c.id)))
            .order_by(jobs.c.next_attempt_at, jobs.c.id)
            .limit(1)
            .with_for_update(of=jobs, skip_locked=True)
        )
        row = (await self.session.execute(query)).first()
        return Job(**row._mapping) if row else None

    async def settle(self, job: Job, *, state: str, outcome: str, duration_ms: int,
                     next_attempt_at: datetime | None = None, retry_until: datetime | None = None,
                     status_code: int | None = None, error: str | None = None) -> None:
        """Record one attempt in the log and move the job on (done, failed, stopped, or retry)."""
        attempt = job.attempts + 1
        values: dict[str, Any] = {"state": state, "attempts": attempt, "last_error": error}
        if state == "pending" and next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        if retry_until is not None:
            values["retry_until"] = retry_until
        if state != "pending":
            values["done_at"] = func.now()
        await self.session.execute(update(jobs).where(jobs.c.id == job.id).values(**values))
        await self.session.execute(attempts.insert().values(
            job_id=job.id, attempt=attempt, outcome=outcome, status_code=status_code, error=error,
            duration_ms=duration_ms))

    async def stop_subscription(self, subscription_id: uuid.UUID) -> int:
        """Every pending job of a subscription the subscriber has declared gone."""
        result = await self.session.execute(
            update(jobs).where(jobs.c.subscription_id == subscription_id, jobs.c.state == "pending")
            .values(state="stopped", done_at=func.now(), last_error="subscription disabled"))
        return result.rowcount  # type: ignore[attr-defined, no-any-return]

    async def requeue(self, job_id: int, sink: str) -> Job | None:
        """Send a job again (any state): the same key and webhook-id, due now."""
        row = (await self.session.execute(
            update(jobs).where(jobs.c.id == job_id, jobs.c.sink == sink)
            .values(state="pending", next_attempt_at=func.now(), done_at=None, retry_until=None)
            .returning(*_JOB_COLUMNS))).first()
        return Job(**row._mapping) if row else None

    async def get(self, job_id: int, sink: str) -> Job | None:
        row = (await self.session.execute(
            select(*_JOB_COLUMNS).where(jobs.c.id == job_id, jobs.c.sink == sink))).first()
        return Job(**row._mapping) if row else None

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
        return [Job(**row._mapping) for row in rows]

    async def attempts_of(self, job_id: int) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(attempts.c.attempt, attempts.c.at, attempts.c.outcome, attempts.c.status_code,
                   attempts.c.error, attempts.c.duration_ms)
            .where(attempts.c.job_id == job_id).order_by(attempts.c.attempt))
        return [dict(row._mapping) for row in rows]

    async def backlog(self, sink: str) -> dict[str, Any]:
        """Pending count and the oldest pending job's age basis, for the status endpoint."""
        row = (await self.session.execute(
            select(func.count(), func.min(jobs.c.created_at))
            .where(jobs.c.sink == sink, jobs.c.state == "pending"))).one()
        return {"pending": row[0], "oldest_pending_at": row[1]}
