"""Replaying archived deliveries: what was archived but never applied is recovered, and only once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from pydantic import SecretStr
from sqlalchemy import func, select

from sportello_ingest import intake
from sportello_ingest.component import COMPONENT
from sportello_ingest.replay import replay
from sportello_ingest.tables import deliveries, messages
from tests.support.app import running_app


def _api_message(external_id: str) -> bytes:
    return json.dumps({"channel": "replayed", "external_id": external_id,
                       "author": {"id": "c-1", "display_name": "Ann"}, "text": "lost in a crash?",
                       "sent_at": datetime.now(UTC).isoformat()}).encode()


async def test_replay_applies_archived_deliveries_once(fresh_database_url: str) -> None:
    async with running_app([COMPONENT], fresh_database_url, x_consumer_secret=SecretStr("s")) as (app, _):
        ctx = app.state.contexts["ingest"]
        external_id = uuid.uuid4().hex
        # As if the process died right after archiving: archived, never parsed.
        await intake.archive(ctx, "replayed", "application/json", _api_message(external_id))
        await intake.archive(ctx, "x", "application/json", b"{not json")  # will never parse

        first = await replay(ctx)
        second = await replay(ctx)
        everything = await replay(ctx, outcomes=None)

        async with ctx.db.transaction() as tx:
            stored = (await tx.session.execute(
                select(func.count()).select_from(messages).where(messages.c.external_id == external_id)
            )).scalar_one()
            outcomes = dict((await tx.session.execute(
                select(deliveries.c.channel, deliveries.c.outcome))).all())
    assert stored == 1
    assert first["accepted"] == 1 and first["failed"] == 1
    assert second["deliveries"] == 1 and second["failed"] == 1  # only the unparseable one is left
    assert everything["duplicate"] == 1  # replaying all is harmless
    assert outcomes == {"replayed": "duplicate", "x": "failed"}
