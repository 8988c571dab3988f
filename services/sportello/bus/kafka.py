"""The bus on Apache Kafka (aiokafka).

Producer: idempotent, acks=all, so a retried send never duplicates or reorders within a partition.
Consumers: auto-commit off; each partition's batch is processed in order and its offset committed
(``last offset + 1``) only afterwards: at-least-once, with the inbox turning redeliveries into no-ops.
Partitions of one batch run concurrently: order is only promised per partition (per key).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, KafkaError

from sportello.bus.base import Bus, IncomingRecord, OutgoingRecord
from sportello.bus.delivery import Delivery
from sportello.settings import ServiceSettings
from sportello.topics import Topic, all_topic_names

log = structlog.get_logger(__name__)


class _RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Holds a rebalance until the batch in hand is processed and committed.

    Without it a revoked partition could be handed to another member while we are still working on
    it: both would process the same records (harmless thanks to the inbox, but wasted and noisy).
    """

    def __init__(self, group: str, batch_lock: asyncio.Lock) -> None:
        self._group = group
        self._batch_lock = batch_lock

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._batch_lock:
            log.info("bus.kafka.partitions_revoked", group=self._group,
                     partitions=sorted(f"{tp.topic}[{tp.partition}]" for tp in revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("bus.kafka.partitions_assigned", group=self._group,
                 partitions=sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned))


class KafkaBus(Bus):
    def __init__(self, settings: ServiceSettings, *, create_topics: bool | None = None) -> None:
        super().__init__()
        self._settings = settings
        self._create_topics = settings.kafka_create_topics if create_topics is None else create_topics
        self._producer: AIOKafkaProducer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._consumers: list[AIOKafkaConsumer] = []
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        if self._create_topics:
            subscribed = [t for sub in self.subscriptions for t in sub.topics]
            await ensure_topics(self._settings, extra=subscribed)
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            client_id=self._settings.kafka_client_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
        )
        await self._producer.start()
        for subscription in self.subscriptions:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._settings.kafka_bootstrap_servers,
                client_id=self._settings.kafka_client_id,
                group_id=subscription.group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_interval_ms=300_000,
            )
            batch_lock = asyncio.Lock()
            consumer.subscribe(
                [topic.name for topic in subscription.topics],
                listener=_RebalanceListener(subscription.group, batch_lock),
            )
            await consumer.start()
            self._consumers.append(consumer)
            delivery = Delivery(
                subscription,
                self.publish,
                max_attempts=self._settings.consumer_max_attempts,
                backoff_seconds=self._settings.consumer_retry_backoff_seconds,
            )
            self._tasks.append(
                asyncio.create_task(self._consume(consumer, delivery, batch_lock),
                                    name=f"consume:{subscription.group}")
            )

    async def _consume(
        self, consumer: AIOKafkaConsumer, delivery: Delivery, batch_lock: asyncio.Lock
    ) -> None:
        group = delivery.subscription.group
        while not self._stopping.is_set():
            try:
                batches = await consumer.getmany(
                    timeout_ms=200, max_records=self._settings.consumer_batch_size
                )
            except KafkaError as exc:
                log.warning("bus.kafka.fetch_failed", group=group, error=repr(exc))
                await asyncio.sleep(1)
                continue
            if not batches:
                continue
            async with batch_lock:
                await asyncio.gather(
                    *(self._process_partition(consumer, delivery, tp, records)
                      for tp, records in batches.items())
                )

    async def _process_partition(
        self, consumer: AIOKafkaConsumer, delivery: Delivery, tp: TopicPartition, records: list
    ) -> None:
        for record in records:
            await delivery.deliver(
                IncomingRecord(
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    key=record.key,
                    value=record.value,
                    headers=tuple(record.headers or ()),
                    timestamp_ms=record.timestamp,
                )
            )
        try:
            await consumer.commit({tp: records[-1].offset + 1})
        except CommitFailedError as exc:
            # The partition moved to another member during the batch: it will redeliver from the
            # last commit and the inbox drops what we already applied.
            log.warning("bus.kafka.commit_failed", group=delivery.subscription.group,
                        partition=f"{tp.topic}[{tp.partition}]", error=repr(exc))

    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        if self._producer is None:
            raise RuntimeError("bus not started")
        futures = [
            await self._producer.send(
                record.topic, value=record.value, key=record.key, headers=list(record.headers)
            )
            for record in records
        ]
        await asyncio.gather(*futures)

    def ready(self) -> bool:
        return self._producer is not None and all(not task.done() for task in self._tasks)

    async def stop_consumers(self) -> None:
        self._stopping.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self._settings.shutdown_grace_seconds)
            for task in pending:  # stuck in a transient retry: its batch is redelivered later
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for consumer in self._consumers:
            await consumer.stop()
        self._tasks.clear()
        self._consumers.clear()

    async def stop(self) -> None:
        await self.stop_consumers()
        if self._producer is not None:
            await self._producer.stop()
        self._producer = None


async def ensure_topics(settings: ServiceSettings, extra: Sequence[Topic] = ()) -> None:
    """Create every registered topic (and its dead-letter topic) that does not exist yet."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers, client_id=settings.kafka_client_id
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = all_topic_names() + [n for t in extra for n in (t.name, t.dead_letter)]
        missing = sorted({name for name in wanted if name not in existing})
        if missing:
            await admin.create_topics(
                [NewTopic(name, settings.kafka_partitions, settings.kafka_replication_factor)
                 for name in missing]
            )
            log.info("bus.kafka.topics_created", topics=missing)
    finally:
        await admin.close()
