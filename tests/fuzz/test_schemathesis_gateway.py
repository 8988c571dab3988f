"""Schemathesis against the gateway's OpenAPI document, in-process on real PostgreSQL (a database of its
own) with the in-process bus, over a read model holding a few conversations (built from the events the
other services publish).

Checks on every answer: no 5xx, the documented schema and content type, every 4xx a problem document.
Every request carries an admin token. Half the positive cases are pointed at conversations that exist or
carry a real next-page cursor. The list's opaque cursor gets its own property test: any JSON a client
could base64 into one is a page or a 400 problem, never a 500. Known bugs: ``KNOWN_BUGS`` and the
reproductions at the end (strict xfails; see tests/fuzz/support.py).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import strategies as st
from schemathesis import Case

from sportello.contracts import Event
from sportello_deploy.postgres import EmbeddedPostgres
from sportello_gateway.component import COMPONENT
from tests.fuzz.strategies import any_json
from tests.fuzz.support import (
    PROBLEM_JSON,
    Fuzzer,
    KnownBug,
    KnownBugFound,
    assert_only_known,
    assert_problem_document,
    examples,
    load_schema,
    openapi_operations,
)
from tests.gateway.builders import assigned, publish, queued, received, scored
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

POSITIVE, NEGATIVE = 40, 20
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# BUG-2 (times past year 1/9999 in UTC) and BUG-5 (a cursor priority beyond a float) are fixed; their
# reproductions below are regression tests.
KNOWN_BUGS: tuple[KnownBug, ...] = ()
AFFECTED: dict[tuple[str, str], tuple[KnownBug, ...]] = {}
OPERATIONS = openapi_operations(COMPONENT)
# An endless text/event-stream never completes through ASGITransport (it buffers whole bodies): the
# live stream is fuzzed over a real socket in tests/gateway/test_stream.py instead.
OVER_A_SOCKET = {("GET", "/v1/stream")}


def _param(method: str, path: str) -> Any:
    bugs = AFFECTED.get((method, path))
    marks = [pytest.mark.xfail(strict=True, raises=KnownBugFound,
                               reason="; ".join(bug.name for bug in bugs))] if bugs else []
    if (method, path) in OVER_A_SOCKET:
        marks.append(pytest.mark.skip(reason="an endless stream: fuzzed in tests/gateway/test_stream.py"))
    return pytest.param(method, path, id=f"{method} {path}", marks=marks)


@dataclass
class Target:
    fuzzer: Fuzzer
    schema: Any
    client: httpx.AsyncClient
    conversations: list[str]
    cursors: list[str]


async def _seed(app: Any, client: httpx.AsyncClient) -> tuple[list[str], list[str]]:
    events: list[Event] = []
    conversations: list[str] = []
    for index in range(5):
        conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
        conversations.append(str(conversation_id))
        first = received(conversation_id, customer_id, T0 + timedelta(minutes=index), text="my order is late",
                         author=f"Fuzz {index}")
        reply = received(conversation_id, customer_id, T0 + timedelta(minutes=index + 2), direction="outbound",
                         text="on it", author="Brand")
        events += [first, reply, scored(first, score=20.0 * index, conversation_priority=20.0 * index)]
        events.append(assigned(conversation_id, customer_id, 1, at=T0 + timedelta(minutes=index + 1))
                      if index % 2 else queued(conversation_id, customer_id, 1, at=T0 + timedelta(minutes=index + 1)))
    await publish(app, events)

    async def listed() -> list[str] | None:
        for conversation in conversations:
            if (await client.get(f"/v1/conversations/{conversation}", headers=auth("admin"))).status_code != 200:
                return None
        page = (await client.get("/v1/conversations", params={"limit": 2}, headers=auth("admin"))).json()
        return [page["next_cursor"]] if page.get("next_cursor") else None

    return conversations, await eventually(listed)


def tamper_with(conversations: list[str], cursors: list[str]) -> Any:
    def tamper(case: Case, index: int) -> None:
        if index % 2:
            return
        if case.path_parameters and "conversation_id" in case.path_parameters:
            case.path_parameters["conversation_id"] = conversations[(index // 2) % len(conversations)]
        if case.operation.path == "/v1/conversations" and case.query is not None:
            case.query["cursor"] = cursors[0]

    return tamper


@pytest.fixture(scope="module")
async def target(postgres: EmbeddedPostgres) -> AsyncIterator[Target]:
    database_url = postgres.create_database("sportello_fuzz_gateway")
    async with running_app([COMPONENT], database_url) as (app, client):
        conversations, cursors = await _seed(app, client)
        fuzzer = Fuzzer(app, auth("admin"), tamper=tamper_with(conversations, cursors))
        yield Target(fuzzer, await load_schema(client), client, conversations, cursors)


async def test_the_running_app_documents_what_is_fuzzed(target: Target) -> None:
    served = sorted((op.ok().method.upper(), op.ok().path) for op in target.schema.get_all_operations())
    assert served == sorted(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), [_param(m, p) for m, p in OPERATIONS])
async def test_operation(target: Target, method: str, path: str) -> None:
    findings = await target.fuzzer.run(target.schema[path][method], positive=POSITIVE, negative=NEGATIVE)
    assert_only_known(findings, KNOWN_BUGS)


# -- the cursor: any JSON a client may base64 ------------------------------------------------------------

_json = any_json
# Times at the edges of what Python represents, with the largest offsets: converted to UTC they leave it.
EDGES = ("0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00-00:01", "9999-12-31T23:59:59-14:00",
         "9999-12-31T23:59:59.999999+00:00", "1970-01-01T00:00:00Z", "2026-03-02T09:00:00+05:45")
_moment = (st.sampled_from(EDGES) | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
           | st.text(max_size=40))
# Numbers JSON holds but a float does not (10**400 parses as a Python int).
HUGE = (10**400, -(10**400), 2**1024)
# The fields of a real cursor (its sort "s" and filter digest "f" kept, so the list reads the rest).
_position = st.fixed_dictionaries({
    "p": st.sampled_from(HUGE) | st.floats(allow_nan=False) | st.integers() | _json,
    "t": _moment | _json,
    "i": st.uuids().map(str) | _json,
})


def _b64(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _payload_of(cursor: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return decoded


def _cursors(real: str) -> st.SearchStrategy[str]:
    """A real cursor with its position replaced by anything, or any JSON at all."""
    frame = _payload_of(real)
    return (_position.map(lambda position: {**frame, **position}) | _json).map(_b64)


def _excerpt(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


async def _get(client: httpx.AsyncClient, url: str, params: dict[str, Any]) -> httpx.Response | str:
    """The answer, or the exception the app did not handle (ASGITransport re-raises it)."""
    try:
        return await client.get(url, params=params, headers=auth("admin"))
    except Exception as exc:  # the app crashed: that is what this test is looking for
        return f"{type(exc).__name__}: {str(exc)[:400]}"


async def test_any_cursor_is_a_page_or_a_4xx_problem(target: Target) -> None:
    crashes: list[str] = []
    other: list[str] = []
    for cursor in examples(_cursors(target.cursors[0]), 150):
        answer = await _get(target.client, "/v1/conversations", {"cursor": cursor})
        if isinstance(answer, str):
            decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            known = any(bug.seen_in(answer) for bug in KNOWN_BUGS)
            (crashes if known else other).append(f"{_excerpt(decoded)} -> {answer}")
        elif not (answer.status_code == 200 or (400 <= answer.status_code < 500 and
                                                 answer.headers["content-type"].startswith(PROBLEM_JSON))):
            other.append(f"{cursor} -> {answer.status_code} {answer.text[:300]}")
    assert not other, "\n".join(other[:5])
    if crashes:
        raise KnownBugFound(f"{len(crashes)} cursor(s) crash the list, e.g.\n" + "\n".join(crashes[:3]))


# -- the bugs, one request each ------------------------------------------------------------------------


def _expect_4xx(answer: httpx.Response | str) -> None:
    """A 4xx problem (the app used to crash: a 500)."""
    if isinstance(answer, str):
        if any(bug.seen_in(answer) for bug in KNOWN_BUGS):
            raise KnownBugFound(answer)
        raise AssertionError(answer)
    assert 400 <= answer.status_code < 500, answer.text
    assert_problem_document(answer.status_code, answer.headers["content-type"], answer.content)


@pytest.mark.parametrize("opened_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_bug2_cursor_with_an_unrepresentable_time_is_a_400(target: Target, opened_at: str) -> None:
    cursor = _b64({**_payload_of(target.cursors[0]), "p": 50, "t": opened_at, "i": str(uuid.uuid4())})
    _expect_4xx(await _get(target.client, "/v1/conversations", {"cursor": cursor}))


async def test_bug5_cursor_with_a_priority_beyond_float_is_a_400(target: Target) -> None:
    cursor = _b64({**_payload_of(target.cursors[0]), "p": 10**400, "t": "2026-03-02T09:00:00+00:00",
                   "i": str(uuid.uuid4())})
    _expect_4xx(await _get(target.client, "/v1/conversations", {"cursor": cursor}))


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_bug2_metrics_since_an_unrepresentable_time_is_a_4xx(target: Target, since: str) -> None:
    _expect_4xx(await _get(target.client, "/v1/metrics/summary", {"since": since}))


async def test_documented_422_matches_what_is_sent(target: Target) -> None:
    answer = await target.client.get("/v1/conversations", params={"limit": 0}, headers=auth("admin"))
    assert answer.status_code == 422
    documented = target.schema["/v1/conversations"]["GET"].definition.raw["responses"]["422"]
    assert answer.headers["content-type"].split(";")[0] in documented["content"], (
        f"documented {sorted(documented['content'])}, sent {answer.headers['content-type']}")
