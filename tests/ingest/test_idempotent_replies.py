"""An agent's retried reply, with ``Idempotency-Key``: answered again, sent to the customer once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select

from sportello_ingest.component import COMPONENT
from sportello_ingest.tables import idempotency_keys, messages
from tests.ingest.channels.test_api import SECRET, Integration, push
from tests.ingest.support import settled
from tests.support.app import auth, running_app


@pytest.fixture(scope="module")
async def integration() -> AsyncIterator[Integration]:
    async with Integration() as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
async def ingest(database_url: str, integration: Integration) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url, api_callback_url=f"{integration.url}/replies",
                           api_callback_secret=SecretStr(SECRET), send_poll_seconds=0.05) as running:
        yield running


async def _outbound(app: FastAPI, conversation_id: str) -> int:
    async with app.state.contexts["ingest"].db.transaction() as tx:
        return int((await tx.session.execute(select(func.count()).select_from(messages).where(
            messages.c.conversation_id == uuid.UUID(conversation_id), messages.c.direction == "outbound"))
        ).scalar_one())


async def test_a_retried_reply_is_replayed_and_sent_once(
    ingest: tuple[FastAPI, httpx.AsyncClient], integration: Integration,
) -> None:
    app, client = ingest
    conversation = (await push(client, uuid.uuid4().hex))["conversation_id"]
    url = f"/v1/conversations/{conversation}/replies"
    headers = {**auth("agent"), "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(url, headers=headers, json={"text": "It ships today"})
    retried = await client.post(url, headers=headers, json={"text": "It ships today"})

    assert first.status_code == retried.status_code == 202, first.text
    assert retried.content == first.content and retried.headers["idempotent-replayed"] == "true"
    assert await _outbound(app, conversation) == 1
    await settled(client, first.json()["id"])
    delivered = [r for r in integration.requests_to("POST", "/replies") if r.json["message_id"] == first.json()["id"]]
    assert len(delivered) == 1


async def test_the_same_key_for_another_reply_is_refused(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = ingest
    conversation = (await push(client, uuid.uuid4().hex))["conversation_id"]
    url = f"/v1/conversations/{conversation}/replies"
    headers = {**auth("agent"), "Idempotency-Key": str(uuid.uuid4())}
    assert (await client.post(url, headers=headers, json={"text": "First answer"})).status_code == 202
    other = await client.post(url, headers=headers, json={"text": "A different answer"})
    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert await _outbound(app, conversation) == 1


async def test_the_answer_is_kept_in_ingests_schema(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = ingest
    conversation = (await push(client, uuid.uuid4().hex))["conversation_id"]
    key = str(uuid.uuid4())
    reply = await client.post(f"/v1/conversations/{conversation}/replies",
                              headers={**auth("agent"), "Idempotency-Key": key}, json={"text": "Hello"})
    async with app.state.contexts["ingest"].db.transaction() as tx:
        kept = (await tx.session.execute(select(idempotency_keys).where(idempotency_keys.c.key == key))).one()
    assert (kept.status_code, kept.response_body) == (202, reply.content)
    assert kept.path == f"/v1/conversations/{conversation}/replies" and kept.principal.startswith("api_key:agent:")
