"""A replay on a simulated clock (``make simulate``) passes its own ``now`` to the response and
status handlers: the clock a later message keeps after a response must get the checkpoints still
to come at *that* time, not at the wall clock's (years after a replayed day, when every checkpoint
would look past and the queue would never feel the deadline nearing)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from sportello.contracts import ConversationStatusChanged
from sportello.db import Database
from sportello_priority import service
from sportello_priority.analysis import TextAnalyser
from sportello_priority.component import COMPONENT
from sportello_priority.config import ConfigCache
from sportello_priority.repository import ScoreRepository
from sportello_priority.settings import PrioritySettings
from tests.priority.support import received
from tests.support.database import migrated_database

REPLAYED = datetime(2017, 10, 31, 9, 0, tzinfo=UTC)  # a day of the twcs traffic
LATER = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(COMPONENT, fresh_database_url) as database:
        yield database


async def _two_messages(db: Database, configs: ConfigCache) -> uuid.UUID:
    """A message at the replayed time and a second one five minutes later, scored on that clock."""
    conversation = uuid.uuid4()
    analyser = TextAnalyser()
    for minutes in (0, 5):
        message = received(conversation, "still waiting for my refund",
                           sent_at=REPLAYED + timedelta(minutes=minutes))
        async with db.transaction() as tx:
            scoring = service.Scoring(analyser, await configs.get(tx.session))
            assert await service.score_message(tx, message, scoring, now=message.sent_at)
    return conversation


async def _two_messages_then(db: Database, fresh_database_url: str,
                             now: datetime | None) -> uuid.UUID:
    """Two messages, then the response to the first handled on ``now``."""
    configs = ConfigCache(PrioritySettings(database_url=SecretStr(fresh_database_url)))
    conversation = await _two_messages(db, configs)
    async with db.transaction() as tx:
        await service.record_response(tx, conversation, REPLAYED + timedelta(minutes=2),
                                      await configs.get(tx.session), now=now)
    return conversation


async def _due_before(db: Database, conversation: uuid.UUID, at: datetime) -> bool:
    async with db.transaction() as tx:
        return conversation in await ScoreRepository(tx.session).due_conversations(at, 1000)


async def test_a_replayed_response_keeps_the_later_message_s_checkpoints(
        db: Database, fresh_database_url: str) -> None:
    conversation = await _two_messages_then(db, fresh_database_url,
                                            now=REPLAYED + timedelta(minutes=6))
    assert not await _due_before(db, conversation, REPLAYED + timedelta(minutes=6))
    assert await _due_before(db, conversation, LATER)


async def test_on_the_wall_clock_the_replayed_day_s_checkpoints_are_all_past(
        db: Database, fresh_database_url: str) -> None:
    # What the simulation did before it passed its clock: nothing left to come.
    conversation = await _two_messages_then(db, fresh_database_url, now=None)
    assert not await _due_before(db, conversation, LATER)


@pytest.mark.parametrize(("now", "to_come"), [(REPLAYED + timedelta(minutes=7), True),
                                              (None, False)])
async def test_a_replayed_resolution_uses_the_replay_s_clock(
        db: Database, fresh_database_url: str, now: datetime | None, to_come: bool) -> None:
    configs = ConfigCache(PrioritySettings(database_url=SecretStr(fresh_database_url)))
    conversation = await _two_messages(db, configs)
    resolved = ConversationStatusChanged(
        conversation_id=conversation, customer_id=uuid.uuid5(uuid.NAMESPACE_URL, str(conversation)),
        status="resolved", reason="resolved", sequence=1, at=REPLAYED + timedelta(minutes=3))
    async with db.transaction() as tx:
        await service.record_status(tx, resolved, await configs.get(tx.session), now=now)
    # The message sent after the resolution keeps a clock; its checkpoints are still to come on
    # the replay's clock, all past on the wall clock.
    assert await _due_before(db, conversation, LATER) is to_come
