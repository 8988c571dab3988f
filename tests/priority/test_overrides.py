"""Overrides in the service: an expired one is dropped by the next recomputation (here a new
message), with no wait for the ticker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sportello_priority import overrides, service
from sportello_priority.component import COMPONENT
from sportello_priority.repository import ScoreRepository
from sportello_priority.schemas import OverrideIn
from sportello_priority.state import analyser_of, config_of
from tests.priority.support import latest, publish, received
from tests.support.app import running_app
from tests.support.waiting import eventually


async def test_the_next_message_after_the_end_drops_an_expired_override(database_url: str) -> None:
    conversation = uuid.uuid4()
    set_at = datetime.now(UTC)
    ends = set_at + timedelta(minutes=10)
    async with running_app([COMPONENT], database_url) as (app, _):
        bus = app.state.runtime.bus
        ctx = app.state.contexts["priority"]
        await publish(bus, received(conversation, "Hi, a quick question about my plan"))
        await eventually(lambda: latest(bus, conversation))
        async with ctx.db.transaction() as tx:
            config = await config_of(ctx).get(tx.session)
            _, pinned = await overrides.set_override(
                tx, conversation, OverrideIn(priority=3, reason="false alarm", expires_at=ends),
                "supervisor:test", config, now=set_at)
        async with ctx.db.transaction() as tx:
            scored = await service.score_message(
                tx, received(conversation, "any news?", sent_at=ends + timedelta(seconds=1)),
                service.Scoring(analyser_of(ctx), config), now=ends + timedelta(seconds=1))
            left = await ScoreRepository(tx.session).override(conversation)
        after = await eventually(
            lambda: (p := latest(bus, conversation)) and p.sequence > pinned.sequence and p)
    assert pinned.priority == 3
    assert scored is not None and scored.conversation_priority > 3
    assert after.priority == scored.conversation_priority
    assert all(f.factor != "override" for f in after.breakdown)
    assert left is None
