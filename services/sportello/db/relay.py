"""Relays committed outbox rows to the bus, in order, then deletes them.

A crash between publish and delete republishes the batch: consumers dedupe on the event id (inbox),
which is the price of never losing an event. A transaction-level advisory lock makes one relay per
service schema active at a time, so several replicas never interleave (and reorder) a key's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib

import structlog
from sqlalchemy import delete, func, select

from sportello.bus.base import Bus, OutgoingRecord
from sportello.db.database import Database
from sportello.errors import is_transient
from sportello.observability import metrics

log = structlog.get_logger(__name__)


class OutboxRelay:
    def __init__(self, db: Database, bus: Bus, *, poll_seconds: float, batch_size: int) -> None:
        self._db = db
        self._bus = bus
        self._poll = poll_seconds
        self._batch = batch_size
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._lock_key = zlib.crc32(f"sportello.outbox.{db.schema}".encode())
        db.on_outbox_commit(self.wake)

    def wake(self) -> None:
        self._wakeup.set()

    async def relay_once(self) -> int:
        table = self._db.outbox_table
        async with self._db.engine.begin() as conn:
            if not await conn.scalar(select(func.pg_try_advisory_xact_lock(self._lock_key))):
                return 0
            rows = (await conn.execute(select(table).order_by(table.c.id).limit(self._batch))).all()
            metrics.OUTBOX_BACKLOG.labels(service=self._db.source).set(len(rows))
            if not rows:
                return 0
            await self._bus.publish(
                [
                    OutgoingRecord(
                        topic=row.topic,
                        key=row.key,
                        value=row.value,
                        headers=tuple((name, value.encode()) for name, value in row.headers),
                    )
                    for row in rows
                ]
            )
            # Exactly the rows published: ids are taken at insert, not at commit, so a lower id
            # can commit while we publish; deleting by range would drop it unpublished.
            await conn.execute(delete(table).where(table.c.id.in_([row.id for row in rows])))
        metrics.OUTBOX_PUBLISHED.labels(service=self._db.source).inc(len(rows))
        return len(rows)

    async def run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                relayed = await self.relay_once()
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("outbox.relay.failed")
                else:
                    log.warning("outbox.relay.unavailable", error=repr(exc))
                relayed = 0
                await asyncio.sleep(1)
            if relayed >= self._batch:
                continue  # more is waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._poll)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"outbox-relay:{self._db.schema}")

    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        """Drain what is committed (best effort), then stop."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout=10)
            self._task = None
        with contextlib.suppress(Exception):
            while await self.relay_once():
                pass
