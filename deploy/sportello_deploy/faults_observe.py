"""What ``make faults`` looks at: the gateway's API, the services' readiness and logs, ingest's table,
the consumer groups' lag, the outboxes and the dead-letter topics of a private stack."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from sportello_deploy.bench_probes import group_lag, topic_partitions
from sportello_deploy.faults_load import CHANNEL, Load, Post
from sportello_deploy.private_stack import PrivateStack

# --------------------------------------------------------------------------------------------------
# The gateway
# --------------------------------------------------------------------------------------------------


def delivered(body: dict[str, Any], external_id: str) -> bool:
    """The message is in the gateway's conversation, scored, and the conversation has an agent."""
    if body.get("assignment", {}).get("state") != "assigned":
        return False
    return any(m.get("external_id") == external_id and m.get("score") is not None
               for m in body.get("messages", ()))


def _probe_indexes(count: int) -> list[int]:
    """0, 1, 2, then 4, 8, 16... and the last: the oldest first (the pipeline delivers in order), with
    later ones in case the oldest are stuck or lost, for a handful of requests however long the list."""
    picked = {0, 1, 2, count - 1}
    step = 4
    while step < count:
        picked.add(step)
        step *= 2
    return sorted(i for i in picked if 0 <= i < count)


class Gateway:
    def __init__(self, stack: PrivateStack, client: httpx.AsyncClient) -> None:
        self._stack = stack
        self._client = client

    async def conversation(self, conversation_id: str) -> dict[str, Any] | None:
        """The gateway's view, or None when it does not know the conversation (or is down)."""
        try:
            response = await self._client.get(
                f"{self._stack.url('gateway')}/v1/conversations/{conversation_id}",
                headers=self._stack.auth("agent"))
        except httpx.TransportError:
            return None
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body

    async def first_delivery_since(self, load: Load, since: float,
                                   within: float) -> tuple[float, Post] | None:
        """Wait until a message first POSTed at or after ``since`` that opened a conversation (so it
        crossed ingest, priority, assignment and the gateway) is delivered end to end; return when that
        was seen and which message, or None after ``within`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            candidates = [p for p in load.accepted if p.n == 1 and p.first_try >= since]
            for index in _probe_indexes(len(candidates)):
                post = candidates[index]
                assert post.conversation_id is not None
                body = await self.conversation(post.conversation_id)
                if body is not None and delivered(body, post.external_id):
                    return loop.time(), post
            await asyncio.sleep(0.25)
        return None

    async def conversations(self, conversation_ids: Sequence[str],
                            concurrency: int = 8) -> dict[str, dict[str, Any] | None]:
        slots = asyncio.Semaphore(concurrency)

        async def one(conversation_id: str) -> tuple[str, dict[str, Any] | None]:
            async with slots:
                return conversation_id, await self.conversation(conversation_id)

        return dict(await asyncio.gather(*(one(c) for c in conversation_ids)))


async def ready_checks(stack: PrivateStack, client: httpx.AsyncClient) -> dict[str, str]:
    """Each service's /readyz: "ok", or what it says is failing."""
    results: dict[str, str] = {}
    for name in stack.services:
        try:
            response = await client.get(f"{stack.url(name)}/readyz", timeout=5)
        except httpx.TransportError as exc:
            results[name] = type(exc).__name__
            continue
        if response.status_code == 200:
            results[name] = "ok"
        else:
            checks = response.json().get("checks", {})
            results[name] = ", ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok") or str(
                response.status_code)
    return results


# --------------------------------------------------------------------------------------------------
# Work not done yet: consumer lag and outboxes
# --------------------------------------------------------------------------------------------------


@dataclass
class Backlog:
    lag: dict[str, int] = field(default_factory=dict)        # consumer group -> records not committed
    committed: dict[str, int] = field(default_factory=dict)  # consumer group -> sum of its offsets
    outbox: dict[str, int] = field(default_factory=dict)     # schema -> events not relayed yet

    @property
    def empty(self) -> bool:
        return not any(self.lag.values()) and not any(self.outbox.values())

    def summary(self) -> dict[str, int]:
        return {**{f"lag {g}": n for g, n in sorted(self.lag.items()) if n},
                **{f"outbox {s}": n for s, n in sorted(self.outbox.items()) if n}}


def service_of_group(group: str) -> str | None:
    """Consumer groups are named sportello.<service>.<purpose>."""
    parts = group.split(".")
    return parts[1] if len(parts) >= 3 and parts[0] == "sportello" else None


def service_of_schema(schema: str) -> str:
    return schema.replace("_", "-")


def stalled(waiting: Backlog, before: dict[str, float], after: dict[str, float]) -> dict[str, str]:
    """Services with work waiting (consumer lag, events in their outbox) whose progress counters did
    not move between two looks: service -> why."""
    work: dict[str, list[str]] = {}
    for group, lag in waiting.lag.items():
        service = service_of_group(group)
        if service and lag > 0:
            work.setdefault(service, []).append(f"consumer group {group} lag {lag}")
    for schema, rows in waiting.outbox.items():
        if rows > 0:
            work.setdefault(service_of_schema(schema), []).append(f"outbox {schema} {rows} events")
    return {service: f"{', '.join(why)}; no record handled and no event relayed since the last look"
            for service, why in work.items()
            if service in after and after[service] == before.get(service)}


_PROGRESS_METRICS = ("sportello_bus_records_handled_total", "sportello_bus_events_declined_total",
                     "sportello_bus_dead_lettered_total", "sportello_inbox_duplicates_total",
                     "sportello_outbox_published_total")


async def progress(stack: PrivateStack, client: httpx.AsyncClient) -> dict[str, float]:
    """Per service, records handled (or declined, skipped, dead-lettered) plus events relayed, from its
    /metrics; a service that does not answer is left out."""
    counts: dict[str, float] = {}
    for name in stack.services:
        try:
            response = await client.get(f"{stack.url(name)}/metrics", timeout=5)
        except httpx.TransportError:
            continue
        if response.status_code != 200:
            continue
        total = 0.0
        for line in response.text.splitlines():
            if line.startswith(_PROGRESS_METRICS):
                with contextlib.suppress(ValueError, IndexError):
                    total += float(line.rsplit(" ", 1)[1])
        counts[name] = total
    return counts


async def backlog(stack: PrivateStack) -> Backlog | None:
    """Lag of every consumer group and rows in every outbox; None if Kafka or PostgreSQL is down."""
    try:
        return await asyncio.wait_for(_backlog(stack), timeout=20)
    except Exception:  # an outage while looking: "unknown", the caller looks again later
        return None


async def _backlog(stack: PrivateStack) -> Backlog:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    result = Backlog()
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    try:
        groups = sorted(str(g[0]) for g in await admin.list_consumer_groups())
        offsets = {g: await admin.list_consumer_group_offsets(g) for g in groups}
    finally:
        await admin.close()
    # Every partition of the topics the groups read, so a partition a group has not committed on
    # yet counts from its beginning (bench_probes.group_lag), not as nothing to do.
    topics = sorted({tp.topic for o in offsets.values() for tp in o})
    partitions = await topic_partitions(stack.bootstrap, topics, wait_s=0, required=False)
    ends: dict[TopicPartition, int] = {}
    beginnings: dict[TopicPartition, int] = {}
    if partitions:
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            ends = dict(await consumer.end_offsets(partitions))
            beginnings = dict(await consumer.beginning_offsets(partitions))
        finally:
            await consumer.stop()
    for group, committed in offsets.items():
        positions = {tp: meta.offset for tp, meta in committed.items()}
        result.lag[group] = group_lag(positions, ends, beginnings)
        result.committed[group] = sum(offset for offset in positions.values() if offset >= 0)
    connection = await _connect(stack)
    try:
        schemas = [r[0] for r in await connection.fetch(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox'")]
        for schema in sorted(schemas):
            result.outbox[schema] = int(await connection.fetchval(
                f'SELECT count(*) FROM "{schema}".outbox'))  # noqa: S608 (names from the catalogue)
    finally:
        await connection.close()
    return result


async def _connect(stack: PrivateStack) -> Any:
    import asyncpg  # the services' driver

    return await asyncpg.connect(stack.database_url.replace("postgresql+asyncpg://", "postgresql://", 1))


# --------------------------------------------------------------------------------------------------
# Stored state
# --------------------------------------------------------------------------------------------------


async def ingest_rows(stack: PrivateStack, run_id: str) -> list[tuple[str, str, str]]:
    """(external_id, message id, conversation id) of every message of this run in ingest's table."""
    connection = await _connect(stack)
    try:
        rows = await connection.fetch(
            "SELECT external_id, id::text, conversation_id::text FROM ingest.messages "
            "WHERE channel = $1 AND external_id LIKE $2", CHANNEL, f"{run_id}-%")
    finally:
        await connection.close()
    return [(row[0], row[1], row[2]) for row in rows]


async def dead_letters(bootstrap: str) -> dict[str, int]:
    """Records in every dead-letter topic: a record dead-lettered is one some service gave up on."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = sorted(t for t in await admin.list_topics() if t.endswith(".dlt"))
        described = await admin.describe_topics(topics) if topics else []
    finally:
        await admin.close()
    partitions = [TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]]
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
    finally:
        await consumer.stop()
    counts: Counter[str] = Counter()
    for tp in partitions:
        counts[tp.topic] += ends[tp] - starts[tp]
    return {topic: count for topic, count in sorted(counts.items()) if count}


# --------------------------------------------------------------------------------------------------
# Logs
# --------------------------------------------------------------------------------------------------


def log_sizes(stack: PrivateStack) -> dict[str, int]:
    sizes = {}
    for name in stack.services:
        try:
            sizes[name] = stack.log_path(name).stat().st_size
        except OSError:
            sizes[name] = 0
    return sizes


_NOTEWORTHY_LEVELS = frozenset({"warning", "error", "critical", "exception"})


def log_findings(path: Path, start: int, end: int | None) -> dict[str, int]:
    """Warning and error events written to a service log between two offsets, counted by kind.

    Service logs are JSON lines (structlog): "<level> <event>". Other lines come from the standard
    library (aiokafka, uvicorn, asyncio's "Task exception was never retrieved") and are counted by
    their first words.
    """
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            chunk = handle.read(-1 if end is None else max(end - start, 0))
    except OSError:
        return {}
    found: Counter[str] = Counter()
    for raw in chunk.decode("utf-8", errors="replace").splitlines():
        line = raw.strip()
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            level = str(record.get("level", "")).lower()
            if level in _NOTEWORTHY_LEVELS:
                found[f"{level} {record.get('event')}"] += 1
        elif line.startswith(("ERROR", "CRITICAL", "Task exception", "Traceback")):
            found[" ".join(line.split()[:4])[:100]] += 1
        elif line.startswith("WARNING"):
            found[" ".join(line.split()[:3])[:100]] += 1
    return dict(found.most_common())


def log_notes(findings: dict[str, dict[str, int]], top: int = 3) -> list[str]:
    """The services' own error events (by name, with the services that logged them), then how many
    error lines libraries wrote (aiokafka reconnecting, uvicorn's tracebacks)."""
    events: dict[str, Counter[str]] = {}
    library = 0
    for service, found in findings.items():
        for kind, count in found.items():
            level, _, name = kind.partition(" ")
            if level in ("error", "critical", "exception"):
                events.setdefault(name, Counter())[service] += count
            elif level in ("ERROR", "CRITICAL", "Traceback", "Task"):
                library += count
    notes = []
    for name, by_service in sorted(events.items(), key=lambda item: -sum(item[1].values()))[:top]:
        where = ", ".join(f"{service} {count}" for service, count in by_service.most_common())
        notes.append(f"{name} x{sum(by_service.values())} ({where})")
    if library:
        notes.append(f"{library} library error lines")
    return notes
