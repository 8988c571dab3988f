"""Snooze: parking a conversation until a time or until the customer writes, and waking it again
(the endpoint, the threading rule and the timer), on real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from sportello.contracts import ConversationStatusChanged
from sportello_ingest import snoozes
from sportello_ingest.component import COMPONENT
from sportello_ingest.tables import conversations
from tests.ingest.test_threads import post, resolve, status_changes
from tests.support.app import auth, running_app
from tests.support.waiting import eventually


@pytest.fixture(scope="module")
async def ingest(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url, reopen_window_seconds=3600,
                           snooze_wake_seconds=0.05) as running:
        yield running


async def snooze(client: httpx.AsyncClient, conversation_id: str, until: Any = None) -> httpx.Response:
    body = {} if until is None else {"until": until}
    return await client.post(f"/v1/conversations/{conversation_id}/snooze", json=body,
                             headers=auth("agent"))


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def stored(app: FastAPI, conversation_id: str) -> Any:
    async with app.state.contexts["ingest"].db.transaction() as tx:
        return (await tx.session.execute(
            select(conversations.c.status, conversations.c.snoozed_until)
            .where(conversations.c.id == uuid.UUID(conversation_id)))).one()


def last_change(app: FastAPI, conversation_id: str) -> ConversationStatusChanged | None:
    changes = status_changes(app, conversation_id)
    return changes[-1] if changes else None


def latest(app: FastAPI, conversation_id: str) -> tuple[str, str] | None:
    change = last_change(app, conversation_id)
    return (change.status, change.reason) if change else None


async def test_snoozing_publishes_once_and_a_new_end_is_a_new_change(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    conversation = (await post(client, uuid.uuid4().hex))["conversation_id"]
    until = later(hours=20)
    first = await snooze(client, conversation, until)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "snoozed" and first.json()["changed"] is True
    again = await snooze(client, conversation, until)
    assert again.json()["changed"] is False
    await eventually(lambda: status_changes(app, conversation))
    snoozed = status_changes(app, conversation)
    assert [(e.status, e.reason) for e in snoozed] == [("snoozed", "snoozed")]
    assert snoozed[0].snoozed_until == datetime.fromisoformat(until)

    moved = await snooze(client, conversation, later(days=2))
    assert moved.json()["changed"] is True
    await eventually(lambda: len(status_changes(app, conversation)) == 2)
    second = status_changes(app, conversation)[-1]
    assert second.sequence > snoozed[0].sequence and second.snoozed_until > snoozed[0].snoozed_until


async def test_the_customer_writing_wakes_it_in_the_same_conversation(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    author = uuid.uuid4().hex
    conversation = (await post(client, author))["conversation_id"]
    assert (await snooze(client, conversation)).status_code == 200  # until the customer writes
    assert (await stored(app, conversation)).status == "snoozed"
    follow_up = await post(client, author, text="any news?")
    assert follow_up["conversation_id"] == conversation
    assert tuple(await stored(app, conversation)) == ("open", None)
    await eventually(lambda: latest(app, conversation) == ("open", "unsnoozed_by_customer"))


async def test_a_reply_to_a_message_of_a_snoozed_conversation_wakes_it(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    first = await post(client, uuid.uuid4().hex)
    await snooze(client, first["conversation_id"], later(hours=1))
    joined = await post(client, uuid.uuid4().hex, reply_to=first["external_id"])
    assert joined["conversation_id"] == first["conversation_id"]
    assert (await stored(app, first["conversation_id"])).status == "open"


async def test_the_timer_wakes_what_is_due_and_nothing_else(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    due = [(await post(client, uuid.uuid4().hex))["conversation_id"] for _ in range(3)]
    not_due = (await post(client, uuid.uuid4().hex))["conversation_id"]
    for conversation in [*due, not_due]:
        await snooze(client, conversation, later(days=1))
    db = app.state.contexts["ingest"].db
    async with db.transaction() as tx:  # as if a day had passed for three of them
        await tx.session.execute(update(conversations)
                                 .where(conversations.c.id.in_([uuid.UUID(c) for c in due]))
                                 .values(snoozed_until=datetime.now(UTC) - timedelta(seconds=1)))
    # Batches of one: the pass goes on until nothing due is left. The app's own timer may win
    # some of them; either way each wakes exactly once.
    await snoozes.wake_due(db, datetime.now(UTC), batch=1)
    for conversation in due:
        assert tuple(await stored(app, conversation)) == ("open", None)
        await eventually(lambda c=conversation: latest(app, c) == ("open", "snooze_ended"))
        woken = [e for e in status_changes(app, conversation) if e.status == "open"]
        assert [e.reason for e in woken] == ["snooze_ended"]
    assert (await stored(app, not_due)).status == "snoozed"


async def test_the_running_timer_wakes_a_short_snooze(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = ingest
    conversation = (await post(client, uuid.uuid4().hex))["conversation_id"]
    assert (await snooze(client, conversation, later(seconds=0.3))).status_code == 200
    await eventually(lambda: latest(app, conversation) == ("open", "snooze_ended"))


async def test_reopen_wakes_and_resolve_closes_a_snoozed_conversation(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    conversation = (await post(client, uuid.uuid4().hex))["conversation_id"]
    await snooze(client, conversation, later(hours=3))
    reopened = await client.post(f"/v1/conversations/{conversation}/reopen", headers=auth("agent"))
    assert reopened.json() == {"conversation_id": conversation, "status": "open", "changed": True,
                               "snoozed_until": None}
    await snooze(client, conversation)
    await resolve(client, conversation)
    assert tuple(await stored(app, conversation)) == ("resolved", None)
    await eventually(lambda: latest(app, conversation) == ("resolved", "resolved"))
    assert [e.reason for e in status_changes(app, conversation)] == [
        "snoozed", "unsnoozed_by_agent", "snoozed", "resolved"]


@pytest.mark.parametrize("until", [
    "2000-01-01T00:00:00Z",  # past
    (datetime.now(UTC) + timedelta(days=400)).isoformat(),  # beyond a year
    "2030-01-01T10:00:00",  # no time zone: ambiguous
    "tomorrow",
])
async def test_a_bad_end_is_a_422_naming_the_field(ingest: tuple[FastAPI, httpx.AsyncClient],
                                                   until: str) -> None:
    _, client = ingest
    conversation = (await post(client, uuid.uuid4().hex))["conversation_id"]
    response = await snooze(client, conversation, until)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "until" in response.text


async def test_a_resolved_conversation_cannot_be_snoozed(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = ingest
    conversation = (await post(client, uuid.uuid4().hex))["conversation_id"]
    await resolve(client, conversation)
    response = await snooze(client, conversation, later(hours=1))
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await stored(app, conversation)).status == "resolved"
    missing = await snooze(client, str(uuid.uuid4()))
    assert missing.status_code == 404


async def test_snoozing_needs_an_agent(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    conversation = (await post(client, uuid.uuid4().hex))["conversation_id"]
    anonymous = await client.post(f"/v1/conversations/{conversation}/snooze", json={})
    assert anonymous.status_code == 401
