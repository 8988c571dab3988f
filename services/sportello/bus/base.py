"""The bus contract both implementations honour.

- ``publish`` returns only once every record is durably accepted (Kafka: acks=all), in order per key.
- A subscription delivers each record at least once to its handler, in order per partition, and
  advances its committed position only after the handler returned (or the record was dead-lettered).
- A record that cannot be decoded, or whose handler keeps failing, goes to the topic's dead-letter
  topic with the reason, and the subscription goes on.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sportello.contracts import Envelope
from sportello.topics import Topic


@dataclass(frozen=True)
class OutgoingRecord:
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class IncomingRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None

    def header(self, name: str) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


Handler = Callable[[Envelope], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    group: str
    topics: tuple[Topic, ...]
    handler: Handler
    name: str = field(default="")


class Bus(abc.ABC):
    """Start, publish, subscribe, stop. Subscriptions must be added before ``start``."""

    def __init__(self) -> None:
        self.subscriptions: list[Subscription] = []

    def subscribe(self, subscription: Subscription) -> None:
        self.subscriptions.append(subscription)

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop_consumers(self) -> None:
        """Stop consuming after the batch in hand and commit it; publishing still works."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop consumers, then flush and close the producer."""

    @abc.abstractmethod
    async def publish(self, records: Sequence[OutgoingRecord]) -> None: ...

    @abc.abstractmethod
    def ready(self) -> bool:
        """True while connected and every subscription has its assignment loop running."""
