"""Where the live stream's events come from: every conversation event, on every gateway replica.

Each replica needs ALL events for its own clients, so the stream must not share the read model's
consumer group (Kafka would split the partitions between replicas). And it needs only what happens
from now on: history is what the read model and ``Last-Event-ID`` are for.

- Kafka: a consumer without a group (``group_id=None``): it reads every partition of the topics,
  starts at the latest offset and commits nothing. No per-replica group is left behind in the
  broker when a pod goes away, and no group rebalance ever pauses it. ``sportello.bus`` cannot
  express this (its subscriptions are durable, committed, from the earliest offset), hence this
  small consumer of its own; records are decoded with the bus's codec.
- In-process bus (embedded mode, one process): a subscription under a group of its own. Its log
  lives only as long as the process and is empty at start, so "from the start" is "from now".

Neither ever dead-letters or retries: a record the stream cannot decode is skipped (the read
model's consumer deals with poison records).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable

import structlog
from aiokafka import AIOKafkaConsumer

from sportello.bus.base import Bus, IncomingRecord, Subscription
from sportello.bus.codec import PoisonRecord, decode
from sportello.contracts import Envelope
from sportello.settings import ServiceSettings
from sportello.topics import ALL_TOPICS, Topic

log = structlog.get_logger(__name__)

Sink = Callable[[Envelope], Awaitable[None]]


def conversation_topics() -> tuple[Topic, ...]:
    """Every topic carrying an event about a conversation (new ones join without a change here)."""
    return tuple(topic for topic in ALL_TOPICS
                 if any("conversation_id" in event.model_fields for event in topic.events))


def replica_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def subscribe_in_process(bus: Bus, sink: Sink) -> None:
    """Before the bus starts (the runtime starts every subscription with it)."""

    async def handle(envelope: Envelope) -> None:
        try:
            await sink(envelope)
        except Exception:  # never retried nor dead-lettered: the stream is best effort
            log.exception("gateway.stream.dispatch_failed", type=envelope.type)

    group = f"sportello.gateway.stream.{replica_name()}-{id(sink):x}"
    bus.subscribe(Subscription(group=group, topics=conversation_topics(), handler=handle, name=group))


class KafkaTap:
    def __init__(self, settings: ServiceSettings, sink: Sink,
                 bus_ready: Callable[[], bool] = lambda: True) -> None:
        self._settings = settings
        self._sink = sink
        # The bus's start creates missing topics (when allowed): subscribing after it means every
        # partition is there from the first metadata fetch.
        self._bus_ready = bus_ready
        self._topics = {topic.name: topic for topic in conversation_topics()}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gateway.stream.kafka")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._bus_ready():
            await asyncio.sleep(0.1)
        while True:  # Kafka away at start or later: keep trying, the API serves on meanwhile
            consumer = AIOKafkaConsumer(
                *self._topics, bootstrap_servers=self._settings.kafka_bootstrap_servers,
                client_id=f"{self._settings.kafka_client_id}-stream", group_id=None,
                auto_offset_reset="latest", enable_auto_commit=False,
                # Partitions added to a topic are picked up within this (default: 5 minutes).
                metadata_max_age_ms=30_000,
            )
            try:
                await consumer.start()
                log.info("gateway.stream.kafka_started", topics=sorted(self._topics))
                await self._consume(consumer)
            except Exception as exc:  # KafkaError, or a surprise: the loop must outlive it
                log.warning("gateway.stream.kafka_failed", error=repr(exc)[:200])
                await asyncio.sleep(1)
            finally:
                await consumer.stop()

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            for records in batches.values():
                for record in records:
                    await self._dispatch(IncomingRecord(
                        topic=record.topic, partition=record.partition, offset=record.offset,
                        key=record.key, value=record.value, headers=tuple(record.headers or ()),
                        timestamp_ms=record.timestamp))

    async def _dispatch(self, record: IncomingRecord) -> None:
        try:
            envelope = decode(record, self._topics[record.topic])
        except PoisonRecord:
            return
        try:
            await self._sink(envelope)
        except Exception:
            log.exception("gateway.stream.dispatch_failed", type=envelope.type)
