"""conversation.prioritised moves a queued conversation in the queue (an SLA deadline nearing);
the change made by scoring a message is left to the message.scored behind it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from sportello.contracts import ConversationPrioritised
from sportello.db import Database
from sportello_assignment import service
from sportello_assignment.component import COMPONENT
from tests.assignment.support import route, scored
from tests.support.database import migrated_database


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(COMPONENT, fresh_database_url) as database:
        yield database


def prioritised(conversation_id: uuid.UUID, customer_id: uuid.UUID, priority: float,
                reason: str, sequence: int) -> ConversationPrioritised:
    return ConversationPrioritised(
        conversation_id=conversation_id, customer_id=customer_id, priority=priority,
        band="normal", breakdown=(), weights_profile="default", sla=None, trajectory=None,
        reason=reason, sequence=sequence, at=datetime.now(UTC),  # type: ignore[arg-type]
    )


async def queue_order(db: Database) -> list[tuple[uuid.UUID, float]]:
    async with db.transaction() as tx:
        return [(q.conversation_id, q.priority) for q in await service.queue(tx, 10)]


async def test_an_sla_checkpoint_moves_a_queued_conversation_up(db: Database) -> None:
    calm, urgent = scored(priority=30), scored(priority=60)
    for event in (calm, urgent):  # no agents: both wait in the queue
        assert (await route(db, event)).outcome == "queued"
    assert [c for c, _ in await queue_order(db)] == [urgent.conversation_id, calm.conversation_id]
    async with db.transaction() as tx:
        await service.reprioritise(tx, prioritised(calm.conversation_id, calm.customer_id, 90,
                                                   "sla_checkpoint", 2))
        # Scoring's own change is not applied here (the message.scored behind it will be).
        await service.reprioritise(tx, prioritised(urgent.conversation_id, urgent.customer_id, 99,
                                                   "message_scored", 2))
        # Unknown conversations are not ours yet.
        await service.reprioritise(tx, prioritised(uuid.uuid4(), uuid.uuid4(), 50,
                                                   "sla_checkpoint", 1))
    assert await queue_order(db) == [(calm.conversation_id, 90), (urgent.conversation_id, 60)]
