"""The live stream: conversation events from the real bus to SSE clients over a real socket, scoped to
the caller. (httpx's ASGI transport buffers whole responses, so the gateway runs under uvicorn.)"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis import GenerationMode
from schemathesis.core.transport import Response as SchemathesisResponse

from sportello.bus.codec import encode
from sportello.bus.kafka import KafkaBus
from sportello.contracts import Envelope, Event, MessageReceived
from sportello.http.auth import Principal, TokenAuth, parse_tokens
from sportello.runtime import create_app
from sportello.settings import ServiceSettings
from sportello.topics import topic_for
from sportello_deploy.postgres import EmbeddedPostgres
from sportello_deploy.processes import ServiceProcess, base_env, free_port
from sportello_gateway.component import COMPONENT
from sportello_gateway.edge.hub import Notice, StreamEvent, StreamFilter, StreamHub
from sportello_gateway.edge.lifecycle import _close_streams_on_exit_signals
from sportello_gateway.edge.scope import ScopeIndex
from sportello_gateway.edge.stream import HUB_STATE
from sportello_gateway.edge.taps import KafkaTap
from tests.fuzz.support import CHECKS, assert_problem_document, generate
from tests.gateway.builders import apply, assigned, envelope, publish, queued, received, status_changed
from tests.gateway.test_proxy import served
from tests.support.app import TOKENS_SPEC, auth
from tests.support.database import settings_for
from tests.support.waiting import eventually

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
SUPERVISOR = auth("supervisor")
CARE_AGENT_ID = str(uuid.uuid4())
CARE_AGENT = {"Authorization": "Bearer care-agent-token-0000000000"}


class TeamsAuth(TokenAuth):
    """The shared tokens, plus an agent of team ``care`` as a JWT would describe one (part of the
    security work fills these fields from tokens; the stream only reads them)."""

    def authenticate(self, authorization: str | None) -> Principal:
        if authorization == CARE_AGENT["Authorization"]:
            return Principal(role="agent", token_hint="0000", subject="bea",
                             agent_id=CARE_AGENT_ID, teams=frozenset({"care"}))
        return super().authenticate(authorization)


@asynccontextmanager
async def live_gateway(database_url: str, **overrides: Any) -> AsyncIterator[tuple[FastAPI, str]]:
    settings = settings_for(database_url, COMPONENT.settings_cls, bus="memory",
                            api_tokens=TOKENS_SPEC, consumer_retry_backoff_seconds=0.01,
                            outbox_poll_seconds=0.05, **overrides)
    app = create_app([COMPONENT], settings)
    app.state.auth = TeamsAuth(parse_tokens(TOKENS_SPEC))
    async with served(app, lifespan="on") as url:
        yield app, url


def hub_of(app: FastAPI) -> StreamHub:
    found: StreamHub = app.state.contexts["gateway"].state[HUB_STATE]
    return found


class Sse:
    """Frames of one open stream: {"event", "id", "data", "retry"} or {"comment"}."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def frame(self) -> dict[str, str]:
        return await asyncio.wait_for(self._frame(), timeout=10)

    async def _frame(self) -> dict[str, str]:
        frame: dict[str, str] = {}
        async for line in self._lines:
            if line == "":
                if frame:
                    return frame
                continue
            if line.startswith(":"):
                frame["comment"] = line[1:].strip()
                continue
            key, _, value = line.partition(":")
            frame[key] = value.removeprefix(" ")
        raise EOFError("the stream ended")

    async def event(self) -> dict[str, str]:
        """The next frame that is not a heartbeat."""
        while "comment" in (frame := await self.frame()):
            pass
        return frame

    async def events_until(self, done: Any) -> list[dict[str, str]]:
        seen: list[dict[str, str]] = []
        while not done(seen):
            seen.append(await self.event())
        return seen


@asynccontextmanager
async def stream(url: str, headers: dict[str, str], query: str = "",
                 last_event_id: str | None = None) -> AsyncIterator[Sse]:
    extra = {"Last-Event-ID": last_event_id} if last_event_id else {}
    async with httpx.AsyncClient(timeout=10) as client, client.stream(
            "GET", f"{url}/v1/stream{query}", headers={**headers, **extra}) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        sse = Sse(response)
        ready = await sse.event()
        assert ready["event"] == "ready"
        yield sse


def conversations_of(frames: Sequence[dict[str, str]]) -> list[tuple[str, str]]:
    return [(f["event"], json.loads(f["data"])["conversation_id"]) for f in frames if "data" in f]


async def test_an_event_on_the_bus_reaches_a_connected_client(database_url: str) -> None:
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    message = received(conversation_id, customer_id, T0, text="where is my parcel?")
    async with live_gateway(database_url) as (app, url), stream(url, SUPERVISOR) as sse:
        await publish(app, [message])
        frame = await sse.event()
        hub = hub_of(app)
    assert frame["event"] == "message.received"
    assert frame["id"] == f"{hub.epoch}-1"
    body = json.loads(frame["data"])
    assert body["type"] == "message.received" and body["conversation_id"] == str(conversation_id)
    assert body["data"]["text"] == "where is my parcel?"
    assert body["data"]["message_id"] == str(message.message_id)


async def test_an_agent_sees_their_teams_conversations_and_their_own_only(database_url: str) -> None:
    customer = uuid.uuid4()
    care, billing, mine, earlier = (uuid.uuid4() for _ in range(4))
    other_agent = uuid.uuid4()
    async with live_gateway(database_url) as (app, url):
        # Owned before this replica's stream saw anything: known only to the read model.
        await apply(app.state.contexts["gateway"].db,
                    [received(earlier, customer, T0), assigned(earlier, customer, 1,
                                                               agent_id=other_agent, team="care",
                                                               at=T0)])
        async with stream(url, CARE_AGENT) as agent, stream(url, SUPERVISOR) as supervisor:
            # Owners first, as in life (a message is routed after it arrives; across topics the
            # stream promises no order, so the test does not rely on one).
            owners: list[Event] = [
                assigned(care, customer, 1, team="care", at=T0),
                queued(billing, customer, 1, at=T0),
                assigned(billing, customer, 2, agent_id=other_agent, team="billing", at=T0),
                assigned(mine, customer, 1, agent_id=uuid.UUID(CARE_AGENT_ID), team="billing",
                         at=T0),
            ]
            messages: list[Event] = [received(c, customer, T0) for c in (care, billing, mine, earlier)]
            await publish(app, owners)
            everything = await supervisor.events_until(lambda seen: len(seen) == len(owners))
            await publish(app, messages)
            everything += await supervisor.events_until(lambda seen: len(seen) == len(messages))
            # Every event above went through the hub; one more tells the agent's stream is done.
            await publish(app, [status_changed(care, customer, 2, "resolved", at=T0)])
            seen = await agent.events_until(
                lambda frames: any(f["event"] == "conversation.status_changed" for f in frames))
    assert len(everything) == len(owners) + len(messages)
    received_by_agent = set(conversations_of(seen))
    assert received_by_agent == {
        ("conversation.assigned", str(care)), ("message.received", str(care)),
        ("conversation.assigned", str(mine)), ("message.received", str(mine)),
        ("message.received", str(earlier)), ("conversation.status_changed", str(care)),
    }
    assert all(conversation != str(billing) for _, conversation in received_by_agent)


async def test_filters_by_conversation_and_by_type(database_url: str) -> None:
    customer, one, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with live_gateway(database_url) as (app, url), \
            stream(url, SUPERVISOR, f"?conversation_id={one}") as by_conversation, \
            stream(url, SUPERVISOR, "?types=conversation.assigned") as by_type:
        await publish(app, [received(other, customer, T0), received(one, customer, T0),
                            assigned(other, customer, 1, at=T0)])
        first_of_one = await by_conversation.event()
        first_assignment = await by_type.event()
    assert conversations_of([first_of_one]) == [("message.received", str(one))]
    assert conversations_of([first_assignment]) == [("conversation.assigned", str(other))]


async def test_a_reconnect_gets_what_it_missed_or_a_resync(database_url: str) -> None:
    customer, conversation = uuid.uuid4(), uuid.uuid4()
    async with live_gateway(database_url) as (app, url):
        async with stream(url, SUPERVISOR) as sse:
            await publish(app, [received(conversation, customer, T0)])
            last_seen = (await sse.event())["id"]
        hub = hub_of(app)
        await eventually(lambda: hub.clients == 0)  # a client that left is forgotten at once
        await publish(app, [assigned(conversation, customer, 1, at=T0),
                            status_changed(conversation, customer, 1, "resolved", at=T0)])
        await eventually(lambda: hub.last_id.endswith("-3"))  # both went by while disconnected

        async with stream(url, SUPERVISOR, last_event_id=last_seen) as sse:
            replayed = [await sse.event(), await sse.event()]
        async with stream(url, SUPERVISOR, last_event_id="another-replica-7") as sse:
            resync = await sse.event()
            await publish(app, [received(conversation, customer, T0)])
            after = await sse.event()
    assert {f["event"] for f in replayed} == {"conversation.assigned", "conversation.status_changed"}
    assert sorted(f["id"] for f in replayed) == [f"{hub.epoch}-2", f"{hub.epoch}-3"]
    assert resync["event"] == "resync" and "reload" in json.loads(resync["data"])["reason"]
    assert after["event"] == "message.received" and after["id"] == f"{hub.epoch}-4"


async def test_a_quiet_stream_sends_heartbeats(database_url: str) -> None:
    async with live_gateway(database_url, gateway_stream_heartbeat_seconds=0.05) as (_, url), \
            stream(url, SUPERVISOR) as sse:
        frames = [await sse.frame(), await sse.frame()]
    assert frames == [{"comment": "heartbeat"}, {"comment": "heartbeat"}]


async def test_closing_the_hub_ends_every_stream_with_a_shutdown_event(database_url: str) -> None:
    async with live_gateway(database_url) as (app, url), stream(url, SUPERVISOR) as sse:
        hub_of(app).close()
        last = await sse.event()
        with pytest.raises(EOFError):
            await sse.frame()
    assert last["event"] == "shutdown"


async def test_who_may_open_a_stream_and_with_which_filters(database_url: str) -> None:
    async with live_gateway(database_url) as (_, url), httpx.AsyncClient(base_url=url) as client:
        anonymous = await client.get("/v1/stream")
        integration = await client.get("/v1/stream", headers=auth("integration"))
        bad_type = await client.get("/v1/stream?types=message.received,nope", headers=SUPERVISOR)
        bad_id = await client.get("/v1/stream?conversation_id=12", headers=SUPERVISOR)
    assert anonymous.status_code == 401 and integration.status_code == 403
    assert bad_type.status_code == 400 and "nope" in bad_type.json()["detail"]
    assert "message.received" in bad_type.json()["known_types"]
    assert bad_id.status_code == 422
    for response in (anonymous, integration, bad_type, bad_id):
        assert response.headers["content-type"] == "application/problem+json"


async def test_fuzzed_requests_get_a_stream_or_a_problem_never_a_5xx(database_url: str) -> None:
    # Schemathesis's cases for the documented operation, sent over a socket: a 200 must be an event
    # stream that opens with ``ready`` (read, then dropped), anything else a documented problem.
    async with live_gateway(database_url) as (_, url), httpx.AsyncClient(timeout=10) as client:
        schema = schemathesis.openapi.from_dict((await client.get(f"{url}/openapi.json")).json())
        operation = schema["/v1/stream"]["GET"]
        outcomes: dict[int, int] = {}
        for mode, count in ((GenerationMode.POSITIVE, 30), (GenerationMode.NEGATIVE, 20)):
            for case in generate(operation, mode, count):
                kwargs = case.as_transport_kwargs(base_url=url, headers=SUPERVISOR)
                headers = {str(k): str(v) for k, v in kwargs.get("headers", {}).items()}
                async with client.stream("GET", kwargs["url"], params=kwargs.get("params"),
                                         headers=headers) as answer:
                    outcomes[answer.status_code] = outcomes.get(answer.status_code, 0) + 1
                    assert answer.status_code < 500, f"{kwargs}: {await answer.aread()!r}"
                    if answer.status_code == 200:
                        assert answer.headers["content-type"].startswith("text/event-stream")
                        assert (await Sse(answer).event())["event"] == "ready"
                        continue
                    content = await answer.aread()
                    assert_problem_document(answer.status_code, answer.headers["content-type"], content)
                    case.validate_response(SchemathesisResponse.from_httpx(answer, verify=False),
                                           checks=CHECKS)
    assert outcomes.get(200) and any(400 <= status < 500 for status in outcomes), outcomes


# -- the hub on its own -----------------------------------------------------------------------------

async def hub_event(hub: StreamHub, conversation_id: uuid.UUID) -> None:
    await hub.publish(envelope(received(conversation_id, uuid.uuid4(), T0)))


async def test_a_slow_client_is_cut_off_with_overflow_and_the_others_go_on() -> None:
    hub = StreamHub(ScopeIndex(None, size=10), queue_size=2, replay_size=10)
    slow, fast = hub.connect(StreamFilter()), hub.connect(StreamFilter())
    received_by_fast: list[StreamEvent | Notice] = []
    for _ in range(3):
        await hub_event(hub, uuid.uuid4())
        received_by_fast.append(fast.queue.get_nowait())
    assert [slow.queue.get_nowait()] == [Notice("overflow")] and slow.queue.empty()
    assert all(isinstance(item, StreamEvent) for item in received_by_fast)
    assert hub.clients == 1  # the slow one is no longer fed


async def test_a_replay_longer_than_kept_is_a_resync() -> None:
    hub = StreamHub(ScopeIndex(None, size=10), queue_size=10, replay_size=2)
    start = hub.last_id
    for _ in range(3):
        await hub_event(hub, uuid.uuid4())
    client = hub.connect(StreamFilter(), last_event_id=start)
    assert client.queue.get_nowait() == Notice("resync")
    recent = hub.connect(StreamFilter(), last_event_id=f"{hub.epoch}-1")
    assert [e.sequence for e in [recent.queue.get_nowait(), recent.queue.get_nowait()]
            if isinstance(e, StreamEvent)] == [2, 3]


async def test_the_ready_position_never_skips_what_is_still_queued() -> None:
    hub = StreamHub(ScopeIndex(None, size=10), queue_size=10, replay_size=10)
    await hub_event(hub, uuid.uuid4())
    fresh = hub.connect(StreamFilter())
    await hub_event(hub, uuid.uuid4())  # queued for it before its first frame is written
    assert fresh.position == f"{hub.epoch}-1"
    replaying = hub.connect(StreamFilter(), last_event_id=f"{hub.epoch}-1")
    assert replaying.position == f"{hub.epoch}-1"  # until event 2 is delivered, it stands at 1
    assert [item.id for item in [replaying.queue.get_nowait()] if isinstance(item, StreamEvent)] == [
        f"{hub.epoch}-2"]


async def test_an_exit_signal_closes_the_streams_and_reaches_the_servers_handler() -> None:
    hub = StreamHub(ScopeIndex(None, size=10), queue_size=10, replay_size=10)
    client = hub.connect(StreamFilter())
    calls: list[int] = []
    original = signal.signal(signal.SIGTERM, lambda number, frame: calls.append(number))
    try:
        previous = _close_streams_on_exit_signals(hub)
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler)
        handler(signal.SIGTERM, None)  # as the interpreter would on SIGTERM
        await eventually(lambda: hub.closed)
    finally:
        signal.signal(signal.SIGTERM, original)
    assert calls == [signal.SIGTERM] and signal.SIGTERM in previous
    assert client.queue.get_nowait() == Notice("shutdown")


@pytest.mark.kafka
async def test_the_kafka_tap_reads_every_partition_from_now_on(kafka_bootstrap: str) -> None:
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, kafka_partitions=3)
    bus = KafkaBus(settings)
    await bus.start()
    seen: list[Envelope] = []

    async def sink(item: Envelope) -> None:
        seen.append(item)

    tap = KafkaTap(settings, sink)
    try:
        before = envelope(received(uuid.uuid4(), uuid.uuid4(), T0))
        await bus.publish([encode(before, topic_for(type(before.data)))])
        tap.start()
        # Keys spread over the partitions; the tap has no group, so it gets all of them.
        probes: list[Envelope] = []

        async def delivered() -> bool:
            probe = envelope(received(uuid.uuid4(), uuid.uuid4(), T0))
            probes.append(probe)
            await bus.publish([encode(probe, topic_for(MessageReceived))])
            return bool(seen)

        await eventually(delivered, timeout=60, interval=0.5)
        batch = [envelope(received(uuid.uuid4(), uuid.uuid4(), T0)) for _ in range(12)]
        await bus.publish([encode(e, topic_for(type(e.data))) for e in batch])
        await eventually(lambda: {e.id for e in batch} <= {e.id for e in seen}, timeout=30)
    finally:
        await tap.stop()
        await bus.stop()
    assert before.id not in {e.id for e in seen}  # started at the latest offset, not the earliest



@pytest.mark.e2e
async def test_sigterm_ends_every_stream_and_the_server_exits_without_waiting_for_them(
    postgres: EmbeddedPostgres, tmp_path: Path,
) -> None:
    """The real server process: uvicorn waits for open responses before the app's shutdown, and a
    stream never ends by itself; the gateway's signal hook ends them first. Without it this stop
    would wait out the whole graceful-shutdown time (30 s here) and be killed at 20 s."""
    env = {**base_env(postgres.create_database("sportello_stream_stop"), "127.0.0.1:9", TOKENS_SPEC,
                      SPORTELLO_ENVIRONMENT="test", SPORTELLO_SHUTDOWN_GRACE_SECONDS="30",
                      PYTHONPATH=str(ROOT)),
           "SPORTELLO_BUS": "memory"}
    await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "sportello_gateway", "migrate"],
                            env=env, check=True, capture_output=True, timeout=120)
    gateway = ServiceProcess("gateway", free_port(), env, tmp_path / "gateway.log")
    gateway.start()
    try:
        await asyncio.to_thread(gateway.wait_ready, 60)
        async with stream(gateway.url, SUPERVISOR) as sse:
            exit_code = asyncio.create_task(asyncio.to_thread(gateway.terminate, 20))
            last = await sse.event()
            with pytest.raises(EOFError):
                await sse.frame()
        code = await exit_code
    finally:
        gateway.kill()
    assert last["event"] == "shutdown"
    # Exited by itself (terminate() returns None when it had to SIGKILL); uvicorn re-raises the
    # SIGTERM it handled once it is done, hence -15 rather than 0.
    assert code in (0, -signal.SIGTERM), gateway.tail()
