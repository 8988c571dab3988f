"""The bus contract, run against both implementations: the real Kafka broker and the in-process bus.

Same behaviour is the point: the embedded mode must not hide bugs that Kafka would expose.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer

from sportello.bus.base import Bus, IncomingRecord, OutgoingRecord, Subscription
from sportello.bus.codec import encode
from sportello.bus.kafka import KafkaBus
from sportello.bus.memory import InMemoryBus
from sportello.contracts import Author, Envelope, MessageReceived
from sportello.settings import ServiceSettings
from sportello.topics import Topic
from tests.support.waiting import eventually

pytestmark = pytest.mark.kafka


def _event(text: str) -> Envelope:
    conversation = uuid.uuid4()
    return Envelope.wrap(
        MessageReceived(
            message_id=uuid.uuid4(), conversation_id=conversation, customer_id=uuid.uuid4(),
            conversation_opened=True, channel="chat", external_id=uuid.uuid4().hex,
            direction="inbound", author=Author(id="u", display_name="U"), text=text,
            sent_at=datetime.now(UTC), received_at=datetime.now(UTC),
        ),
        source="test", correlation_id="corr-1", subject="same-key",
    )


class Harness:
    def __init__(self, kind: str, bootstrap: str | None) -> None:
        self.kind = kind
        self.bootstrap = bootstrap
        self.topic = Topic(f"test.contract.{uuid.uuid4().hex[:8]}", (MessageReceived,))
        self.group = f"test-group-{uuid.uuid4().hex[:8]}"
        self._memory: InMemoryBus | None = None

    def new_bus(self) -> Bus:
        if self.kind == "memory":
            if self._memory is None:
                self._memory = InMemoryBus(max_attempts=3, backoff_seconds=0.01)
            return self._memory
        settings = ServiceSettings(kafka_bootstrap_servers=self.bootstrap or "",
                                   consumer_max_attempts=3, consumer_retry_backoff_seconds=0.01,
                                   kafka_partitions=1)
        return KafkaBus(settings)

    async def dead_letters(self, expected: int, timeout: float = 30) -> list[IncomingRecord]:
        if self._memory is not None:
            await eventually(lambda: len(self._memory.records(self.topic.dead_letter)) >= expected,
                             timeout)
            return self._memory.records(self.topic.dead_letter)
        consumer = AIOKafkaConsumer(self.topic.dead_letter, bootstrap_servers=self.bootstrap,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        found: list[IncomingRecord] = []
        try:
            deadline = asyncio.get_running_loop().time() + timeout
            while len(found) < expected and asyncio.get_running_loop().time() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    found += [IncomingRecord(r.topic, r.partition, r.offset, r.key, r.value,
                                             tuple(r.headers)) for r in records]
        finally:
            await consumer.stop()
        return found




@pytest.fixture(params=["memory", "kafka"])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    bootstrap = request.getfixturevalue("kafka_bootstrap") if request.param == "kafka" else None
    yield Harness(request.param, bootstrap)


async def _started(harness: Harness, handler: Callable[[Envelope], object]) -> Bus:
    bus = harness.new_bus()
    bus.subscribe(Subscription(harness.group, (harness.topic,), handler))  # type: ignore[arg-type]
    await bus.start()
    return bus


async def test_delivers_in_order_and_dead_letters_poison_records(harness: Harness) -> None:
    seen: list[str] = []

    async def handler(envelope: Envelope) -> None:
        seen.append(envelope.data.text)  # type: ignore[attr-defined]

    bus = await _started(harness, handler)
    try:
        good = [encode(_event(f"m{i}"), harness.topic) for i in range(3)]
        not_json = OutgoingRecord(harness.topic.name, b"same-key", b"{not json", good[0].headers)
        no_headers = OutgoingRecord(harness.topic.name, b"same-key", good[0].value, ())
        await bus.publish([good[0], not_json, good[1], no_headers, good[2]])
        await eventually(lambda: len(seen) == 3, 30)
        assert seen == ["m0", "m1", "m2"]
        dead = await harness.dead_letters(2)
        reasons = sorted(r.header("dlt_reason").decode() for r in dead)  # type: ignore[union-attr]
        assert len(dead) == 2
        assert reasons[0].startswith("poison: invalid message.received v1")
        assert reasons[1].startswith("poison: missing header ce_type")
        assert {r.header("dlt_consumer_group") for r in dead} == {harness.group.encode()}
        assert {r.value for r in dead} == {b"{not json", good[0].value}
    finally:
        await bus.stop()


async def test_failing_handler_is_retried_then_dead_lettered_and_the_rest_goes_on(
    harness: Harness,
) -> None:
    attempts: dict[str, int] = {}
    done: list[str] = []

    async def handler(envelope: Envelope) -> None:
        text = envelope.data.text  # type: ignore[attr-defined]
        attempts[text] = attempts.get(text, 0) + 1
        if text == "bad":
            raise ValueError("cannot process this one")
        if text == "flaky" and attempts[text] < 3:
            raise ConnectionResetError("database went away")  # transient: retried, not counted
        done.append(text)

    bus = await _started(harness, handler)
    try:
        await bus.publish([encode(_event(t), harness.topic) for t in ("bad", "flaky", "after")])
        await eventually(lambda: done == ["flaky", "after"], 30)
        assert attempts["bad"] == 3  # consumer_max_attempts
        dead = await harness.dead_letters(1)
        assert len(dead) == 1
        reason = dead[0].header("dlt_reason").decode()  # type: ignore[union-attr]
        assert "after 3 attempt(s)" in reason and "cannot process this one" in reason
        assert dead[0].header("ce_correlationid") == b"corr-1"  # original headers are kept
    finally:
        await bus.stop()


async def test_committed_records_are_not_redelivered_after_restart(harness: Harness) -> None:
    if harness.kind == "memory":
        pytest.skip("the in-process bus lives as long as its process")
    seen: list[str] = []

    async def handler(envelope: Envelope) -> None:
        seen.append(envelope.data.text)  # type: ignore[attr-defined]

    bus = await _started(harness, handler)
    await bus.publish([encode(_event("first"), harness.topic)])
    await eventually(lambda: seen == ["first"], 30)
    await bus.stop()
    bus = await _started(harness, handler)
    try:
        await bus.publish([encode(_event("second"), harness.topic)])
        await eventually(lambda: "second" in seen, 30)
        await asyncio.sleep(0.5)
        assert seen == ["first", "second"]
    finally:
        await bus.stop()
