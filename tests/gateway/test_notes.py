"""Internal notes: stored, shown in the timeline, published after commit; every bad request a
problem document."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sportello.bus.codec import decode
from sportello.bus.memory import InMemoryBus
from sportello.contracts import ConversationNoteAdded, Envelope
from sportello.db import Database
from sportello.http.auth import Principal
from sportello.http.problems import NotFound
from sportello.topics import CONVERSATIONS_ANNOTATIONS
from sportello_gateway import notes_and_tags
from sportello_gateway.component import COMPONENT
from tests.gateway.builders import apply, assigned, received
from tests.support.app import TOKENS, auth, running_app
from tests.support.waiting import eventually

AGENT = auth("agent")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def gateway(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url) as running:
        yield running


def gateway_db(app: FastAPI) -> Database:
    db: Database = app.state.contexts["gateway"].db
    return db


async def conversation(app: FastAPI, team: str = "care") -> tuple[uuid.UUID, uuid.UUID]:
    cid, customer = uuid.uuid4(), uuid.uuid4()
    await apply(gateway_db(app), [received(cid, customer, T0),
                                  assigned(cid, customer, 1, team=team, at=T0)])
    return cid, customer


def published(app: FastAPI, conversation_id: uuid.UUID) -> list[Envelope]:
    bus: InMemoryBus = app.state.runtime.bus
    envelopes = [decode(record, CONVERSATIONS_ANNOTATIONS)
                 for record in bus.records(CONVERSATIONS_ANNOTATIONS.name)]
    return [e for e in envelopes if e.subject == str(conversation_id)]


async def test_a_note_is_stored_shown_in_the_timeline_and_published(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = gateway
    cid, customer = await conversation(app)
    response = await client.post(f"/v1/conversations/{cid}/notes", headers=AGENT,
                                 json={"text": "VIP: handle with care"})
    assert response.status_code == 201, response.text
    note = response.json()
    assert note["conversation_id"] == str(cid) and note["text"] == "VIP: handle with care"
    # An API key has no subject: the note names which key wrote it.
    assert note["author"] == f"api-key:{TOKENS['agent'][-4:]}"

    body = (await client.get(f"/v1/conversations/{cid}", headers=AGENT)).json()
    [entry] = [e for e in body["timeline"] if e["kind"] == "note"]
    assert entry["id"] == note["id"] and entry["note"] == note
    assert body["timeline"][-1]["kind"] == "note"  # written after the message and assignment

    [envelope] = await eventually(lambda: published(app, cid))
    event = envelope.data
    assert isinstance(event, ConversationNoteAdded)
    assert (event.note_id, event.customer_id, event.text, event.author) == (
        uuid.UUID(note["id"]), customer, "VIP: handle with care", note["author"])


async def test_the_longest_note_is_accepted(gateway: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = gateway
    cid, _ = await conversation(app)
    response = await client.post(f"/v1/conversations/{cid}/notes", headers=auth("supervisor"),
                                 json={"text": "n" * 10_000})
    assert response.status_code == 201
    assert len(response.json()["text"]) == 10_000


@pytest.mark.parametrize("body", [
    {"text": ""}, {"text": "   \n\t"}, {"text": "n" * 10_001}, {}, {"text": 7},
    {"text": "ok", "pinned": True}, {"text": "nul \x00 inside"}, [],
])
async def test_invalid_notes_are_422_problems(gateway: tuple[FastAPI, httpx.AsyncClient],
                                              body: Any) -> None:
    app, client = gateway
    cid, _ = await conversation(app)
    response = await client.post(f"/v1/conversations/{cid}/notes", headers=AGENT, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    detail = (await client.get(f"/v1/conversations/{cid}", headers=AGENT)).json()
    assert not [e for e in detail["timeline"] if e["kind"] == "note"]


async def test_a_note_with_an_unpaired_surrogate_is_refused(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = gateway
    cid, _ = await conversation(app)
    response = await client.post(f"/v1/conversations/{cid}/notes", content=b'{"text": "lone \\ud800 half"}',
                                 headers={**AGENT, "content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_unknown_conversation_and_auth(gateway: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = gateway
    cid, _ = await conversation(app)
    unknown = await client.post(f"/v1/conversations/{uuid.uuid4()}/notes", headers=AGENT,
                                json={"text": "hello"})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    anonymous = await client.post(f"/v1/conversations/{cid}/notes", json={"text": "hello"})
    assert anonymous.status_code == 401
    integration = await client.post(f"/v1/conversations/{cid}/notes", json={"text": "hello"},
                                    headers=auth("integration"))
    assert integration.status_code == 403
    assert integration.headers["content-type"] == "application/problem+json"


async def test_author_is_the_agent_then_the_subject(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, _ = gateway
    cid, _ = await conversation(app, team="care")
    agent_id = uuid.uuid4()
    scoped = Principal(role="agent", token_hint="wxyz", subject="sub-7", agent_id=str(agent_id),
                       teams=frozenset({"care"}))
    subject_only = Principal(role="supervisor", token_hint="wxyz", subject="sub-8")
    async with gateway_db(app).transaction() as tx:
        assert (await notes_and_tags.add_note(tx, scoped, cid, "a")).author == str(agent_id)
        assert (await notes_and_tags.add_note(tx, subject_only, cid, "b")).author == "sub-8"
        outsider = Principal(role="agent", token_hint="wxyz", subject="sub-9",
                             teams=frozenset({"billing"}))
        with pytest.raises(NotFound):  # not their team's: as if it did not exist
            await notes_and_tags.add_note(tx, outsider, cid, "c")


async def test_a_retried_note_with_its_idempotency_key_is_added_once(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = gateway
    cid, _ = await conversation(app)
    url = f"/v1/conversations/{cid}/notes"
    headers = {**AGENT, "Idempotency-Key": f"note-{uuid.uuid4()}"}

    first = await client.post(url, headers=headers, json={"text": "Customer is a journalist"})
    again = await client.post(url, headers=headers, json={"text": "Customer is a journalist"})
    other = await client.post(url, headers=headers, json={"text": "Something else"})

    assert first.status_code == 201
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 422 and other.headers["content-type"] == "application/problem+json"
    detail = (await client.get(f"/v1/conversations/{cid}", headers=AGENT)).json()
    assert [e["kind"] for e in detail["timeline"]].count("note") == 1
    assert len([e for e in published(app, cid) if e.type == "conversation.note_added"]) == 1
