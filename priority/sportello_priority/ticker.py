"""The SLA ticker: takes the checkpoints come due and moves those conversations' priorities.

Each tick reads only the due rows (an index range on due_at), so its cost follows the number of
conversations reaching a stage, not the size of the backlog. Replicas share the work: a
conversation another transaction holds is skipped and picked up on the next tick.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog

from sportello.runtime import Context
from sportello_priority import service
from sportello_priority.repository import ScoreRepository
from sportello_priority.state import config_of, settings_of

log = structlog.get_logger(__name__)


async def tick(ctx: Context, now: datetime | None = None) -> int:
    """One pass; how many conversations were re-prioritised."""
    batch = settings_of(ctx).sla_batch_size
    async with ctx.db.transaction() as tx:
        due = await ScoreRepository(tx.session).due_conversations(now or datetime.now(UTC), batch)
    moved = 0
    for conversation_id in due:
        # One transaction per conversation: a slow or failing one never holds the others back.
        # Each at its own moment: a batch can take a while, and a priority is as of when it is sent.
        async with ctx.db.transaction() as tx:
            if await service.take_checkpoints(tx, conversation_id, config_of(ctx),
                                              now or datetime.now(UTC)) is not None:
                moved += 1
    if moved:
        log.info("priority.checkpoints_taken", conversations=moved)
    return moved


async def run(ctx: Context) -> None:
    seconds = settings_of(ctx).sla_tick_seconds
    batch = settings_of(ctx).sla_batch_size
    while True:
        try:
            moved = await tick(ctx)
        except Exception:
            log.exception("priority.tick_failed")
            moved = 0
        if moved < batch:
            await asyncio.sleep(seconds)
