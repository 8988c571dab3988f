"""The generic API channel, on real PostgreSQL with the in-process bus."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from sportello.bus.codec import decode
from sportello.contracts import MessageReceived
from sportello.topics import MESSAGES_RECEIVED
from sportello_ingest.component import COMPONENT
from sportello_ingest.tables import deliveries
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

URL = "/v1/channels/api/messages"


@pytest.fixture(scope="module")
async def ingest(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url) as running:
        yield running


def _message(author: str | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        "channel": "twitter",
        "external_id": uuid.uuid4().hex,
        "author": {"id": author or uuid.uuid4().hex, "display_name": "Ann", "followers": 10},
        "text": "hello, my order is late",
        "sent_at": datetime.now(UTC).isoformat(),
        **overrides,
    }


def _received(app: FastAPI) -> list[MessageReceived]:
    records = app.state.runtime.bus.records(MESSAGES_RECEIVED.name)
    return [decode(r, MESSAGES_RECEIVED).data for r in records]  # type: ignore[misc]


async def test_accepts_threads_and_emits_after_commit(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    author = uuid.uuid4().hex
    first = await client.post(URL, json=_message(author), headers=auth("integration"))
    second = await client.post(URL, json=_message(author, text="any news?"),
                               headers=auth("integration"))
    assert first.status_code == second.status_code == 201
    assert first.json()["conversation_id"] == second.json()["conversation_id"]
    assert first.json()["customer_id"] == second.json()["customer_id"]
    other = await client.post(URL, json=_message(), headers=auth("integration"))
    assert other.json()["conversation_id"] != first.json()["conversation_id"]

    def relayed() -> dict[uuid.UUID, MessageReceived] | None:
        events = {e.message_id: e for e in _received(app)}
        return events if uuid.UUID(second.json()["message_id"]) in events else None

    events = await eventually(relayed)
    opened = events[uuid.UUID(first.json()["message_id"])]
    assert opened.conversation_opened is True and opened.author.followers == 10
    assert events[uuid.UUID(second.json()["message_id"])].conversation_opened is False


async def test_same_external_id_is_accepted_once(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    message = _message()
    responses = [await client.post(URL, json=message, headers=auth("integration"))
                 for _ in range(3)]
    assert [r.status_code for r in responses] == [201, 200, 200]
    assert len({r.json()["message_id"] for r in responses}) == 1
    assert [r.json()["duplicate"] for r in responses] == [False, True, True]
    ctx = app.state.contexts["ingest"]
    async with ctx.db.transaction() as tx:
        archived = (await tx.session.execute(
            select(deliveries.c.body, deliveries.c.outcome)
            .where(deliveries.c.body.contains(message["external_id"].encode()))
            .order_by(deliveries.c.received_at)
        )).all()
    # Every delivery is archived verbatim, the retries too, each with what came of it.
    assert [json.loads(body)["external_id"] for body, _ in archived] == [message["external_id"]] * 3
    assert [outcome for _, outcome in archived] == ["accepted", "duplicate", "duplicate"]


async def test_reply_joins_the_conversation_of_the_message_it_answers(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    original = _message()
    first = await client.post(URL, json=original, headers=auth("integration"))
    brand_reply = _message(author="brand", direction="outbound",
                           reply_to=original["external_id"], text="We are on it ^JK")
    reply = await client.post(URL, json=brand_reply, headers=auth("integration"))
    assert reply.status_code == 201
    assert reply.json()["conversation_id"] == first.json()["conversation_id"]
    # The brand's reply is attributed to the customer's conversation, not to a "brand" customer.
    assert reply.json()["customer_id"] == first.json()["customer_id"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"text": "   "}, "text"),
        ({"sent_at": "2026-11-24T10:00:00"}, "sent_at"),  # no UTC offset: ambiguous
        ({"channel": "Not A Channel"}, "channel"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_invalid_messages_get_a_problem_document(
    ingest: tuple[FastAPI, httpx.AsyncClient], payload: dict[str, Any], field: str,
) -> None:
    _, client = ingest
    response = await client.post(URL, json=_message(**payload), headers=auth("integration"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {e["location"][-1] for e in response.json()["errors"]}


async def test_requires_the_integration_role(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    assert (await client.post(URL, json=_message())).status_code == 401
    bad = await client.post(URL, json=_message(), headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    forbidden = await client.post(URL, json=_message(), headers=auth("agent"))
    assert forbidden.status_code == 403
    assert forbidden.json()["type"].endswith("/forbidden")


async def test_outbound_needs_the_message_it_answers(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    orphan = _message(author="brand", direction="outbound", text="Hi!")
    response = await client.post(URL, json=orphan, headers=auth("integration"))
    assert response.status_code == 400
    assert "reply_to" in response.json()["detail"]
