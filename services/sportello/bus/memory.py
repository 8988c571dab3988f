"""The in-process bus for the embedded mode: the same contract as Kafka, without a broker.

One partition per topic, an append-only log per topic and a committed position per (group, topic);
every subscription goes through the same :class:`Delivery` (decode, retries, dead-letter) as Kafka.
Durability comes from the outbox: an event is deleted from the outbox only once the bus accepted it,
and in this mode the log lives as long as the process (see README, "Embedded mode").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Sequence

from sportello.bus.base import Bus, IncomingRecord, OutgoingRecord, Subscription
from sportello.bus.delivery import Delivery


class InMemoryBus(Bus):
    def __init__(self, *, max_attempts: int = 5, backoff_seconds: float = 0.05,
                 batch_size: int = 200) -> None:
        super().__init__()
        self._logs: dict[str, list[IncomingRecord]] = defaultdict(list)
        self._committed: dict[tuple[str, str], int] = defaultdict(int)
        self._appended = asyncio.Condition()
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._batch_size = batch_size
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def records(self, topic: str) -> list[IncomingRecord]:
        return list(self._logs[topic])

    def committed(self, group: str, topic: str) -> int:
        return self._committed[(group, topic)]

    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        async with self._appended:
            for record in records:
                log = self._logs[record.topic]
                log.append(
                    IncomingRecord(topic=record.topic, partition=0, offset=len(log), key=record.key,
                                   value=record.value, headers=record.headers)
                )
            self._appended.notify_all()

    async def start(self) -> None:
        self._stopping = False
        for subscription in self.subscriptions:
            delivery = Delivery(subscription, self.publish, max_attempts=self._max_attempts,
                                backoff_seconds=self._backoff)
            self._tasks.append(asyncio.create_task(self._consume(delivery),
                                                   name=f"consume:{subscription.group}"))

    def _pending(self, subscription: Subscription) -> list[IncomingRecord]:
        pending: list[IncomingRecord] = []
        for topic in subscription.topics:
            start = self._committed[(subscription.group, topic.name)]
            pending += self._logs[topic.name][start:start + self._batch_size]
        return pending

    async def _consume(self, delivery: Delivery) -> None:
        subscription = delivery.subscription
        while not self._stopping:
            async with self._appended:
                await self._appended.wait_for(
                    lambda: self._stopping or bool(self._pending(subscription))
                )
            for record in self._pending(subscription):
                await delivery.deliver(record)
                self._committed[(subscription.group, record.topic)] = record.offset + 1
                if self._stopping:
                    return

    def ready(self) -> bool:
        return all(not task.done() for task in self._tasks)

    async def stop(self) -> None:
        await self.stop_consumers()

    async def stop_consumers(self) -> None:
        self._stopping = True
        async with self._appended:
            self._appended.notify_all()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=20)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks.clear()
