"""``python -m sportello_ingest replay``: re-ingest archived webhook deliveries.

Every verified request body is archived before it is parsed (see ``intake``). Replaying re-parses the
archived bodies with today's adapters and applies them again: messages already stored are recognised as
duplicates, so replaying is always safe. By default only deliveries that never finished (``pending``: the
process died mid-way) or failed (e.g. a parser bug since fixed) are replayed; ``--all`` replays every one
in the window. Events go to the outbox; a running ingest process relays them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sportello.cli import Command
from sportello.db import Database
from sportello.db.database import create_engine
from sportello.http.problems import Problem
from sportello.settings import ServiceSettings
from sportello_ingest import intake
from sportello_ingest.channels import registry
from sportello_ingest.repository import IngestRepository
from sportello_ingest.settings import IngestSettings
from sportello_ingest.tables import metadata

UNFINISHED = ("pending", "failed")


@dataclass(frozen=True)
class ReplayContext:
    db: Database
    settings: ServiceSettings


async def replay(ctx: intake.IntakeContext, *, channel: str | None = None, since: datetime | None = None,
                 until: datetime | None = None, outcomes: tuple[str, ...] | None = UNFINISHED,
                 batch: int = 200) -> Counter[str]:
    settings = ctx.settings
    assert isinstance(settings, IngestSettings)
    channels = registry.build(settings)
    totals: Counter[str] = Counter()
    cursor = None
    while True:
        async with ctx.db.transaction() as tx:
            rows = await IngestRepository(tx.session).archived(channel=channel, since=since, until=until,
                                                               outcomes=outcomes, after=cursor, limit=batch)
        if not rows:
            return totals
        for row in rows:
            totals["deliveries"] += 1
            try:
                totals.update(await intake.process(ctx, channels.for_channel(row["channel"]), row["id"],
                                                   row["body"]))
            except Problem as exc:  # still unparseable: stays "failed" with the reason
                totals["failed"] += 1
                totals[f"failed: {exc.detail[:80]}"] += 1
        cursor = rows[-1]["id"]


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channel", help="only this channel's deliveries (x, meta, email, chat, or an API channel)")
    parser.add_argument("--since", type=datetime.fromisoformat, help="received at or after (ISO 8601)")
    parser.add_argument("--until", type=datetime.fromisoformat, help="received before (ISO 8601)")
    parser.add_argument("--all", action="store_true", help="every delivery, not only unfinished ones")


def _run(args: argparse.Namespace, settings: ServiceSettings) -> None:
    async def go() -> Counter[str]:
        engine = create_engine(settings)
        try:
            ctx = ReplayContext(Database(engine, metadata, source="sportello/ingest"), settings)
            return await replay(ctx, channel=args.channel, since=args.since, until=args.until,
                                outcomes=None if args.all else UNFINISHED)
        finally:
            await engine.dispose()

    print(json.dumps(dict(asyncio.run(go()))))


COMMAND = Command("replay", "re-ingest archived webhook deliveries (safe: duplicates are recognised)",
                  _add_arguments, _run)
