"""Priority's SQL where it is subtle: a customer's earlier conversations, counted in the RETURNING
of the upsert that records the author (the hot path) and in a plain read alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sportello_priority.component import COMPONENT
from sportello_priority.repository import ScoreRepository
from tests.support.database import migrated_database


async def test_earlier_conversations_are_the_customers_own(database_url: str) -> None:
    regular, newcomer = uuid.uuid4(), uuid.uuid4()
    theirs = [uuid.uuid4(), uuid.uuid4()]
    async with migrated_database(COMPONENT, database_url) as db, db.transaction() as tx:
        repo = ScoreRepository(tx.session)
        for conversation in theirs:
            await repo.insert_conversation(dict(
                id=conversation, customer_id=regular, channel="x", text_factors={},
                priority=0.0, band="low", weights_profile="default",
                updated_at=datetime.now(UTC)))
        new_one = await repo.upsert_author(newcomer, "@new", None, False, uuid.uuid4())
        again = await repo.upsert_author(regular, "@old", None, False, uuid.uuid4())
        read = await repo.customer(regular, theirs[0])
    assert new_one["earlier"] == 0  # other customers' conversations are not theirs
    assert again["earlier"] == 2
    assert read is not None and read["earlier"] == 1  # the conversation itself is not earlier
