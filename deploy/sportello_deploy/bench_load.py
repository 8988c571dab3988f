"""The load side of ``make bench``: the open-loop (fixed rate) and closed-loop (maximum rate)
generators, the Kafka watchers that time each hop and the sampled gateway probe.

Open loop: message i is due at t0 + i / rate whatever the responses; at most ``max_in_flight`` POSTs
are outstanding, and a send that starts more than ``tolerance`` after it was due is "behind
schedule" (the client or ingest could not keep the rate). When the system is far slower than the
rate, sending stops ``give_up_s`` after t0 (e.g. three times the step's duration) and the messages
never sent count as behind schedule too ("unsent"), so a step's length stays bounded. Closed loop:
``concurrency`` workers each POST the next message as soon as the previous one returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaConsumer

from sportello.bus.base import IncomingRecord
from sportello.bus.codec import PoisonRecord, decode
from sportello.contracts import ConversationAssigned, ConversationQueued, Envelope, MessageScored
from sportello.topics import CONVERSATIONS_ASSIGNMENT, MESSAGES_SCORED, Topic
from sportello_deploy.bench_probes import topic_partitions
from sportello_deploy.bench_stats import Posted, behind_schedule, due_time

BENCH_TEXT = "my connection keeps dropping, still waiting for a technician!!"
Send = Callable[[int, float], Awaitable[None]]


@dataclass
class ScheduleStats:
    sent: int
    behind: int  # sent late, plus unsent
    max_lateness_s: float
    window_s: float  # first send start -> last send start
    unsent: int = 0  # open loop: given up on (still due when sending stopped)


async def open_loop(send: Send, *, rate: float, count: int, max_in_flight: int,
                    tolerance: float, give_up_s: float | None = None) -> ScheduleStats:
    """``send(i, due)`` for i in 0..count-1 at ``rate`` per second (see the module docstring)."""
    slots = asyncio.Semaphore(max_in_flight)
    lateness: list[float] = []
    tasks: set[asyncio.Task[None]] = set()

    async def one(i: int, due: float) -> None:
        try:
            await send(i, due)
        finally:
            slots.release()

    t0 = time.perf_counter() + 0.01
    give_up_at = float("inf") if give_up_s is None else t0 + give_up_s
    last = t0
    sent = 0
    for i in range(count):
        due = due_time(t0, rate, i)
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await slots.acquire()
        last = time.perf_counter()
        if last > give_up_at:
            slots.release()
            break
        sent += 1
        lateness.append(last - due)
        task = asyncio.create_task(one(i, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    return ScheduleStats(sent=sent, behind=behind_schedule(lateness, tolerance) + count - sent,
                         max_lateness_s=max(lateness, default=0.0), window_s=last - t0, unsent=count - sent)


async def closed_loop(send: Send, *, count: int, concurrency: int) -> ScheduleStats:
    """``concurrency`` workers, each sending the next index as soon as its previous send returned."""
    indices = iter(range(count))
    t0 = time.perf_counter()
    last = t0

    async def worker() -> None:
        nonlocal last
        for i in indices:
            last = time.perf_counter()
            await send(i, last)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ScheduleStats(sent=count, behind=0, max_lateness_s=0.0, window_s=last - t0)


# --------------------------------------------------------------------------------------------
# What the pipeline did with the messages


@dataclass
class Tracker:
    """Every timestamp the benchmark sees, for the whole run (steps never overlap: each drains)."""

    scored: dict[str, float] = field(default_factory=dict)  # message id -> message.scored seen
    assigned: dict[str, float] = field(default_factory=dict)  # conversation id -> first assigned
    queued: set[str] = field(default_factory=set)
    visible: dict[str, float] = field(default_factory=dict)  # conversation id -> gateway shows it
    on_assigned: list[Callable[[str], None]] = field(default_factory=list)

    def event(self, envelope: Envelope, now: float) -> None:
        data = envelope.data
        if isinstance(data, MessageScored):
            self.scored.setdefault(str(data.message_id), now)
        elif isinstance(data, ConversationAssigned):
            conversation = str(data.conversation_id)
            if conversation not in self.assigned:
                self.assigned[conversation] = now
                for callback in self.on_assigned:
                    callback(conversation)
        elif isinstance(data, ConversationQueued):
            self.queued.add(str(data.conversation_id))


class TopicTail:
    """One consumer on one topic, no group, positioned at the end before any message is sent."""

    def __init__(self, bootstrap: str, topic: Topic, tracker: Tracker) -> None:
        self.topic = topic
        self.tracker = tracker
        self._bootstrap = bootstrap
        self.poison = 0
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                          auto_offset_reset="latest", client_id="sportello-bench")
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        partitions = await topic_partitions(self._bootstrap, [self.topic.name])
        await self._consumer.start()
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for tp in partitions:  # resolve "latest" now, not at the first fetch
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._run(), name=f"bench:tail:{self.topic.name}")

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for records in batches.values():
                for r in records:
                    try:
                        envelope = decode(IncomingRecord(r.topic, r.partition, r.offset, r.key, r.value,
                                                         tuple(r.headers)), self.topic)
                    except PoisonRecord:
                        self.poison += 1
                        continue
                    self.tracker.event(envelope, now)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()


async def start_tails(bootstrap: str, tracker: Tracker) -> list[TopicTail]:
    tails = [TopicTail(bootstrap, MESSAGES_SCORED, tracker), TopicTail(bootstrap, CONVERSATIONS_ASSIGNMENT, tracker)]
    try:
        for tail in tails:
            await tail.start()
    except BaseException:
        for tail in tails:
            await tail.stop()
        raise
    return tails


class GatewayProbe:
    """Polls ``GET /v1/conversations/{id}`` for a sample of conversations (at most ``per_second`` new
    ones a second, whatever the rate) from the moment their assignment is seen on Kafka until the
    gateway shows the message and the owner. The poll interval starts at 20 ms and grows by half
    up to 500 ms, so a lagging read model is not hammered; the time recorded is when the answer that
    showed it arrived (an upper bound)."""

    def __init__(self, client: httpx.AsyncClient, gateway_url: str, token: str, tracker: Tracker, *,
                 per_second: float = 5.0, max_pending: int = 32, timeout: float = 120.0) -> None:
        self._client = client
        self._url = gateway_url
        self._headers = {"Authorization": f"Bearer {token}"}
        self._tracker = tracker
        self._min_gap = 1.0 / per_second if per_second > 0 else float("inf")
        self._max_pending = max_pending
        self._timeout = timeout
        self._last_sample = float("-inf")
        self._sampled: dict[str, str] = {}  # conversation id -> message id, not polled yet
        self._tasks: set[asyncio.Task[None]] = set()
        self.sampled = 0
        self.timed_out = 0
        tracker.on_assigned.append(self._assigned)

    def offer(self, conversation_id: str, message_id: str) -> None:
        """Called when ingest accepted a message: maybe sample it."""
        now = time.perf_counter()
        if now - self._last_sample < self._min_gap or len(self._tasks) >= self._max_pending:
            return
        self._last_sample = now
        self.sampled += 1
        self._sampled[conversation_id] = message_id
        if conversation_id in self._tracker.assigned:
            self._assigned(conversation_id)

    def _assigned(self, conversation_id: str) -> None:
        message_id = self._sampled.pop(conversation_id, None)
        if message_id is not None:
            task = asyncio.create_task(self._poll(conversation_id, message_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _poll(self, conversation_id: str, message_id: str) -> None:
        deadline = time.perf_counter() + self._timeout
        interval = 0.02
        while time.perf_counter() < deadline:
            try:
                response = await self._client.get(f"{self._url}/v1/conversations/{conversation_id}",
                                                  headers=self._headers)
                now = time.perf_counter()
                if response.status_code == 200 and shows(response.json(), message_id):
                    self._tracker.visible[conversation_id] = now
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(interval)
            interval = min(0.5, interval * 1.5)
        self.timed_out += 1

    async def drain(self, wait_s: float) -> None:
        """Wait up to ``wait_s`` for the polls under way, then give up on the rest (counted in
        ``timed_out``): a step's polls never run into the next step."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=wait_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
            self.timed_out += len(pending)
        self._sampled.clear()


def shows(detail: dict[str, object], message_id: str) -> bool:
    """Does a gateway conversation detail show ``message_id`` and an owner?"""
    assignment = detail.get("assignment")
    messages = detail.get("messages")
    return (isinstance(assignment, dict) and assignment.get("state") == "assigned"
            and isinstance(messages, list)
            and any(isinstance(m, dict) and m.get("id") == message_id for m in messages))


# --------------------------------------------------------------------------------------------
# One step


@dataclass
class StepOutcome:
    label: str
    offered_rate: float | None
    schedule: ScheduleStats
    posted: list[Posted]
    failures: list[str]  # one line per POST that failed (timeouts, 5xx)
    started: float
    drained: bool
    wall_s: float


class Ingest:
    """POSTs to ingest's generic API: one new customer (so one new conversation) per message."""

    def __init__(self, client: httpx.AsyncClient, ingest_url: str, token: str, probe: GatewayProbe | None) -> None:
        self._client = client
        self._url = f"{ingest_url}/v1/channels/api/messages"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._probe = probe
        self.run = uuid.uuid4().hex[:8]

    def sender(self, label: str, posted: list[Posted], failures: list[str]) -> Send:
        prefix = f"{self.run}-{label}"

        async def send(i: int, due: float) -> None:
            started = time.perf_counter()
            try:
                response = await self._client.post(self._url, headers=self._headers, json={
                    "channel": "twitter", "external_id": f"{prefix}-{i}",
                    "author": {"id": f"{prefix}-c{i}", "display_name": "Bench", "followers": i},
                    "text": BENCH_TEXT, "sent_at": datetime.now(UTC).isoformat()})
                response.raise_for_status()
                body = response.json()
            except httpx.HTTPStatusError as exc:
                failures.append(f"HTTP {exc.response.status_code}: {exc.response.text}"[:300])
                return
            except (httpx.HTTPError, ValueError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}"[:300])
                return
            finished = time.perf_counter()
            conversation, message = str(body["conversation_id"]), str(body["message_id"])
            posted.append(Posted(conversation, message, due, started, finished))
            if self._probe is not None:
                self._probe.offer(conversation, message)

        return send


async def wait_drained(tracker: Tracker, posted: list[Posted], *, idle_timeout: float,
                       hard_timeout: float) -> bool:
    """Until every posted conversation was assigned, or nothing new was assigned for ``idle_timeout``."""
    deadline = time.monotonic() + hard_timeout
    done, progress_at = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_done = sum(1 for p in posted if p.conversation_id in tracker.assigned)
        if now_done == len(posted):
            return True
        if now_done != done:
            done, progress_at = now_done, time.monotonic()
        elif time.monotonic() - progress_at > idle_timeout:
            return False
        await asyncio.sleep(0.1)
    return False


async def run_step(ingest: Ingest, tracker: Tracker, probe: GatewayProbe | None, *, label: str,
                   rate: float | None, count: int, concurrency: int, max_in_flight: int,
                   tolerance: float, give_up_s: float | None = None, idle_timeout: float = 30.0,
                   hard_timeout: float = 900.0) -> StepOutcome:
    """Offer ``count`` messages (at ``rate``, or as fast as possible when None) and wait until
    they are assigned (or stop progressing) and the sampled gateway polls are done."""
    posted: list[Posted] = []
    failures: list[str] = []
    send = ingest.sender(label, posted, failures)
    started = time.perf_counter()
    if rate is None:
        schedule = await closed_loop(send, count=count, concurrency=concurrency)
    else:
        schedule = await open_loop(send, rate=rate, count=count, max_in_flight=max_in_flight,
                                   tolerance=tolerance, give_up_s=give_up_s)
    drained = await wait_drained(tracker, posted, idle_timeout=idle_timeout, hard_timeout=hard_timeout)
    if probe is not None:
        await probe.drain(wait_s=60.0)
    return StepOutcome(label=label, offered_rate=rate, schedule=schedule, posted=posted,
                       failures=failures, started=started, drained=drained,
                       wall_s=time.perf_counter() - started)
