"""The snooze timer: opens snoozed conversations whose time has come, every second or so.

The scan reads only the due rows (a partial index on snoozed ones), in batches, each batch in its
own transaction; replicas running it at once skip each other's rows (SKIP LOCKED), so each
conversation wakes once. A crash mid-batch rolls the batch back and the next pass wakes it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog

from sportello.db import Database
from sportello.runtime import Context
from sportello_ingest import conversations
from sportello_ingest.settings import IngestSettings

log = structlog.get_logger(__name__)


async def wake_due(db: Database, now: datetime, batch: int) -> int:
    """One pass: every snooze due at ``now``; returns how many conversations opened."""
    woken = 0
    while True:
        async with db.transaction() as tx:
            moved = await conversations.wake_due(tx, now, batch)
        woken += moved
        if moved < batch:
            break
    if woken:
        log.info("ingest.snoozes_woken", count=woken)
    return woken


async def run(ctx: Context) -> None:
    settings = ctx.settings
    assert isinstance(settings, IngestSettings)
    while True:
        try:
            await wake_due(ctx.db, datetime.now(UTC), settings.snooze_wake_batch)
        except Exception:
            log.exception("ingest.snooze_wake_failed")
        await asyncio.sleep(settings.snooze_wake_seconds)
