"""What happens to one record: decode, run the handler, retry, dead-letter. Shared by both buses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import structlog

from sportello.bus.base import IncomingRecord, OutgoingRecord, Subscription
from sportello.bus.codec import PoisonRecord, decode
from sportello.errors import PermanentError, is_transient
from sportello.observability import metrics
from sportello.observability.context import bind_correlation_id

log = structlog.get_logger(__name__)

Publish = Callable[[Sequence[OutgoingRecord]], Awaitable[None]]

_TRANSIENT_BACKOFF_CAP_SECONDS = 5.0


class Delivery:
    def __init__(
        self,
        subscription: Subscription,
        publish: Publish,
        *,
        max_attempts: int,
        backoff_seconds: float,
    ) -> None:
        self.subscription = subscription
        self._publish = publish
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._topics = {topic.name: topic for topic in subscription.topics}

    async def deliver(self, record: IncomingRecord) -> None:
        """Returns once the record is handled or dead-lettered; the caller may then commit it."""
        topic = self._topics[record.topic]
        group = self.subscription.group
        try:
            envelope = decode(record, topic)
        except PoisonRecord as exc:
            await self._dead_letter(record, topic.dead_letter, f"poison: {exc}", attempts=0)
            return
        bind_correlation_id(envelope.correlation_id)
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                await self.subscription.handler(envelope)
            except Exception as exc:
                metrics.HANDLER_FAILURES.labels(group=group, topic=record.topic).inc()
                if is_transient(exc) and not isinstance(exc, PermanentError):
                    # Infra is down: hold the partition (keeps order) instead of dead-lettering.
                    delay = min(_TRANSIENT_BACKOFF_CAP_SECONDS, self._backoff * 2 ** min(attempt, 10))
                    log.warning("bus.handler.transient_failure", group=group, topic=record.topic,
                                offset=record.offset, error=repr(exc), retry_in=delay)
                    attempt -= 1
                    await asyncio.sleep(delay)
                    continue
                if isinstance(exc, PermanentError) or attempt >= self._max_attempts:
                    reason = f"handler failed after {attempt} attempt(s): {exc!r}"
                    log.error("bus.handler.gave_up", group=group, topic=record.topic,
                              offset=record.offset, event_id=str(envelope.id), error=repr(exc))
                    await self._dead_letter(record, topic.dead_letter, reason, attempts=attempt)
                    return
                log.warning("bus.handler.retry", group=group, topic=record.topic,
                            offset=record.offset, attempt=attempt, error=repr(exc))
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
                continue
            metrics.RECORDS_HANDLED.labels(group=group, topic=record.topic).inc()
            metrics.HANDLER_SECONDS.labels(group=group, topic=record.topic).observe(
                time.perf_counter() - started
            )
            lag = (datetime.now(UTC) - envelope.occurred_at).total_seconds()
            metrics.EVENT_AGE_SECONDS.labels(group=group, topic=record.topic).observe(max(lag, 0.0))
            return

    async def _dead_letter(
        self, record: IncomingRecord, dead_letter_topic: str, reason: str, *, attempts: int
    ) -> None:
        headers = tuple(h for h in record.headers if not h[0].startswith("dlt_")) + (
            ("dlt_reason", reason[:2000].encode()),
            ("dlt_original_topic", record.topic.encode()),
            ("dlt_original_partition", str(record.partition).encode()),
            ("dlt_original_offset", str(record.offset).encode()),
            ("dlt_consumer_group", self.subscription.group.encode()),
            ("dlt_attempts", str(attempts).encode()),
            ("dlt_failed_at", datetime.now(UTC).isoformat().encode()),
        )
        await self._publish(
            [OutgoingRecord(topic=dead_letter_topic, key=record.key, value=record.value,
                            headers=headers)]
        )
        metrics.DEAD_LETTERED.labels(group=self.subscription.group, topic=record.topic).inc()
        log.error("bus.record.dead_lettered", group=self.subscription.group, topic=record.topic,
                  partition=record.partition, offset=record.offset, reason=reason[:500])
