"""The raw Kafka reference of ``make bench``: what the same broker does with the same records alone.

Produces ``count`` records shaped like ingest's (an encoded ``message.received`` envelope: same value,
headers and key sizes) to a scratch topic with the services' producer settings (idempotent, acks=all,
linger 5 ms), as fast as possible, while one consumer (no group, positioned at the end first) reads
them back. Reports produce -> consume msg/s and the p50/p99 latency per record; deletes the topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from sportello.bus.base import OutgoingRecord
from sportello.bus.codec import encode
from sportello.contracts import Author, Envelope, MessageReceived
from sportello.topics import MESSAGES_RECEIVED
from sportello_deploy.bench_load import BENCH_TEXT
from sportello_deploy.bench_probes import topic_partitions
from sportello_deploy.bench_stats import summarise_ms, throughput


def sample_record() -> OutgoingRecord:
    """A ``message.received`` record as ingest publishes it for one benchmark message."""
    now = datetime.now(UTC)
    conversation = uuid.uuid4()
    data = MessageReceived(
        message_id=uuid.uuid4(), conversation_id=conversation, customer_id=uuid.uuid4(),
        conversation_opened=True, channel="twitter", external_id=f"{uuid.uuid4().hex[:8]}-api-12345",
        direction="inbound", author=Author(id=f"{uuid.uuid4().hex[:8]}-api-c12345", display_name="Bench",
                                           followers=12345),
        text=BENCH_TEXT, sent_at=now, received_at=now)
    envelope = Envelope.wrap(data, source="sportello/ingest", correlation_id=str(uuid.uuid4()),
                             subject=str(conversation))
    return encode(envelope, MESSAGES_RECEIVED)


def record_size(record: OutgoingRecord) -> int:
    return (len(record.value) + len(record.key or b"")
            + sum(len(k.encode()) + len(v) for k, v in record.headers))


async def raw_kafka_reference(bootstrap: str, count: int, *, partitions: int = 3,
                              wait_s: float = 120.0) -> dict[str, Any]:
    template = sample_record()
    topic = f"sportello.bench.raw.{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="sportello-bench-raw")
    await admin.start()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="latest", client_id="sportello-bench-raw")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all",
                                linger_ms=5, client_id="sportello-bench-raw")
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
        tps = await topic_partitions(bootstrap, [topic])
        await consumer.start()
        await producer.start()
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)

        # Same value and headers; a distinct key per record (conversation ids in the real thing).
        keys = [str(uuid.uuid4()).encode() for _ in range(count)]
        sent: dict[bytes, float] = {}
        received: dict[bytes, float] = {}

        async def consume() -> None:
            while len(received) < count:
                batches = await consumer.getmany(timeout_ms=100)
                now = time.perf_counter()
                for records in batches.values():
                    for r in records:
                        if r.key is not None:
                            received.setdefault(r.key, now)

        reader = asyncio.create_task(consume())
        acks = []
        for key in keys:
            sent[key] = time.perf_counter()
            acks.append(await producer.send(topic, value=template.value, key=key,
                                            headers=list(template.headers)))
        await asyncio.gather(*acks)
        produced = time.perf_counter()
        try:
            await asyncio.wait_for(reader, wait_s)
        except TimeoutError:
            pass
        latencies = [received[k] - sent[k] for k in keys if k in received]
        first = min(sent.values(), default=None)
        stats = summarise_ms(latencies)
        return {
            "messages": count, "received": len(latencies), "record_bytes": record_size(template),
            "produce_msgs_per_s": round(throughput(count, first, produced), 1),
            "msgs_per_s": round(throughput(len(latencies), first, max(received.values(), default=None)), 1),
            "p50_ms": stats["p50"], "p95_ms": stats["p95"], "p99_ms": stats["p99"],
        }
    finally:
        await producer.stop()
        await consumer.stop()
        with contextlib.suppress(Exception):
            await admin.delete_topics([topic])
        await admin.close()
