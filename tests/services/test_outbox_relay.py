"""The outbox relay never drops a row that commits after a higher id was already relayed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from sportello.bus.base import OutgoingRecord
from sportello.bus.memory import InMemoryBus
from sportello.contracts import Author, MessageReceived
from sportello.db.relay import OutboxRelay
from sportello.topics import MESSAGES_RECEIVED
from sportello_ingest.component import COMPONENT
from tests.support.database import migrated_database


def _event() -> MessageReceived:
    return MessageReceived(
        message_id=uuid.uuid4(), conversation_id=uuid.uuid4(), customer_id=uuid.uuid4(),
        conversation_opened=True, channel="chat", external_id=uuid.uuid4().hex,
        direction="inbound", author=Author(id="a", display_name="A"), text="hi",
        sent_at=datetime.now(UTC), received_at=datetime.now(UTC),
    )


class GatedBus(InMemoryBus):
    """Runs a hook inside publish: the moment the relay is waiting for the broker's ack."""

    def __init__(self) -> None:
        super().__init__()
        self.on_publish: Callable[[], Awaitable[None]] | None = None

    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        hook, self.on_publish = self.on_publish, None
        if hook is not None:
            await hook()
        await super().publish(records)


async def test_a_lower_id_committing_during_publish_is_not_deleted(fresh_database_url: str) -> None:
    async with migrated_database(COMPONENT, fresh_database_url) as db:
        bus = GatedBus()
        relay = OutboxRelay(db, bus, poll_seconds=0.05, batch_size=100)
        inserted, release, committed = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def slow_writer() -> None:  # takes the lower id, commits while the relay publishes
            async with db.transaction() as tx:
                await tx.outbox.add(_event(), subject="slow")
                inserted.set()
                await release.wait()
            committed.set()

        writer = asyncio.create_task(slow_writer())
        await inserted.wait()
        async with db.transaction() as tx:
            await tx.outbox.add(_event(), subject="fast")

        async def commit_slow_writer() -> None:
            release.set()
            await committed.wait()

        bus.on_publish = commit_slow_writer
        assert await relay.relay_once() == 1
        await writer
        assert await relay.relay_once() == 1  # the slow one survived the first pass's delete
        assert await relay.relay_once() == 0
        subjects = [r.header("ce_subject") for r in bus.records(MESSAGES_RECEIVED.name)]
        assert subjects == [b"fast", b"slow"]
