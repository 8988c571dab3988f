"""Live chat: the widget's API (sessions, messages both ways, delivered and read receipts), end to end."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from sportello.contracts import MessageDeliveryUpdated, MessageReceived
from sportello.topics import CONVERSATIONS_ACTIVITY, MESSAGES_RECEIVED
from sportello_ingest import intake
from sportello_ingest.channels.chat import ChatAdapter
from sportello_ingest.component import COMPONENT
from sportello_ingest.replay import replay
from sportello_ingest.repository import IngestRepository
from tests.ingest.support import counts, events
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

SECRET = "chat-session-secret-for-tests"
WIDGET_KEY = "wk_acme_site"
SESSIONS = "/v1/channels/chat/sessions"


@pytest.fixture(scope="module")
async def ingest(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url, chat_session_secret=SecretStr(SECRET),
                           chat_widget_keys=f"{WIDGET_KEY}=acme, wk_shop=acme-shop",
                           send_poll_seconds=0.05) as running:
        yield running


async def open_session(client: httpx.AsyncClient, **visitor: Any) -> dict[str, Any]:
    response = await client.post(SESSIONS, json={"widget_key": WIDGET_KEY,
                                                 "visitor": {"name": "Ann", **visitor}})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def token(session: dict[str, Any]) -> dict[str, str]:
    return {"X-Chat-Session-Token": session["session_token"]}


async def say(client: httpx.AsyncClient, session: dict[str, Any], text: str,
              client_id: str | None = None) -> httpx.Response:
    return await client.post(f"{SESSIONS}/{session['session_id']}/messages", headers=token(session),
                             json={"client_message_id": client_id or uuid.uuid4().hex, "text": text})


async def fetch(client: httpx.AsyncClient, session: dict[str, Any], after: str | None = None) -> dict[str, Any]:
    response = await client.get(f"{SESSIONS}/{session['session_id']}/messages", headers=token(session),
                                params={"after": after} if after else None)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def agent_message(client: httpx.AsyncClient, message_id: str) -> dict[str, Any]:
    return (await client.get(f"/v1/messages/{message_id}", headers=auth("agent"))).json()  # type: ignore[no-any-return]






async def test_a_session_needs_a_known_widget_key_and_gets_a_signed_token(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    refused = await client.post(SESSIONS, json={"widget_key": "wk_unknown", "visitor": {"name": "Ann"}})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"

    session = await open_session(client, email="ann@example.com")
    # Computed here from the documented scheme, not with the code under test.
    expected = hmac.new(SECRET.encode(), session["session_id"].encode(), hashlib.sha256).hexdigest()
    assert session["session_token"] == expected
    # A returning visitor keeps the id we issued; an id we never issued is replaced.
    again = await open_session(client, id=session["visitor_id"])
    assert again["visitor_id"] == session["visitor_id"] and again["session_id"] != session["session_id"]
    forged = await open_session(client, id="someone-elses-visitor-id")
    assert forged["visitor_id"] not in ("someone-elses-visitor-id", session["visitor_id"])


async def test_calls_without_the_session_token_store_nothing(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = ingest
    session = await open_session(client)
    other = await open_session(client)
    url = f"{SESSIONS}/{session['session_id']}/messages"
    body = {"client_message_id": "c-1", "text": "hello?"}
    before = await counts(app)
    missing = await client.post(url, json=body)
    wrong = await client.post(url, json=body, headers=token(other))  # a valid token, of another session
    assert (missing.status_code, wrong.status_code) == (401, 403)
    assert await counts(app) == before
    assert (await client.get(url)).status_code == 401
    read = await client.post(f"{SESSIONS}/{session['session_id']}/read", headers=token(other),
                             json={"until": datetime.now(UTC).isoformat()})
    assert read.status_code == 403


async def test_messages_are_stored_once_in_one_conversation_and_emitted(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    session = await open_session(client, name="Ann Visitor")
    first = await say(client, session, "my order has not arrived", client_id="m-1")
    retried = await say(client, session, "my order has not arrived", client_id="m-1")
    second = await say(client, session, "order 5521", client_id="m-2")
    assert (first.status_code, retried.status_code, second.status_code) == (201, 200, 201)
    assert retried.json()["message_id"] == first.json()["message_id"] and retried.json()["duplicate"]
    assert second.json()["conversation_id"] == first.json()["conversation_id"]

    external_id = f"{session['session_id']}:m-1"
    stored = (await client.get(f"/v1/channels/chat/messages/{external_id}", headers=auth("agent"))).json()
    assert (stored["account"], stored["visibility"], stored["author_id"]) == (
        "chat:acme", "private", session["visitor_id"])
    emitted = await eventually(lambda: [e for e in events(app, MESSAGES_RECEIVED, MessageReceived)
                                        if e.external_id == external_id] or None)
    assert len(emitted) == 1 and emitted[0].author.display_name == "Ann Visitor"
    history = await fetch(client, session)
    assert [(m["client_message_id"], m["direction"], m["status"]) for m in history["messages"]] == [
        ("m-1", "inbound", "received"), ("m-2", "inbound", "received")]


async def test_an_agent_reply_reaches_the_widget_then_is_delivered_and_read(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    session = await open_session(client)
    conversation = (await say(client, session, "can I change my address?")).json()["conversation_id"]
    reply = await client.post(f"/v1/conversations/{conversation}/replies", headers=auth("agent"),
                              json={"text": "Sure, which one?", "agent_id": "bea"})
    assert reply.status_code == 202
    reply_id = reply.json()["id"]

    async def shown() -> dict[str, Any] | None:
        history = await fetch(client, session)
        return history if any(m["id"] == reply_id for m in history["messages"]) else None

    history = await eventually(shown)
    assert history["messages"][-1] == {"id": reply_id, "direction": "outbound", "text": "Sure, which one?",
                                       "sent_at": history["messages"][-1]["sent_at"], "status": "delivered",
                                       "client_message_id": None}
    stored = await agent_message(client, reply_id)
    assert (stored["delivery_status"], stored["external_id"]) == ("delivered", f"chat:{reply_id}")
    assert (await fetch(client, session, after=history["next_after"]))["messages"] == []

    read = await client.post(f"{SESSIONS}/{session['session_id']}/read", headers=token(session),
                             json={"until": datetime.now(UTC).isoformat()})
    assert read.json() == {"read": 1}
    assert (await agent_message(client, reply_id))["delivery_status"] == "read"
    def relayed() -> list[str] | None:  # the outbox relays asynchronously: wait for all three
        statuses = [e.status for e in events(app, CONVERSATIONS_ACTIVITY, MessageDeliveryUpdated)
                    if str(e.message_id) == reply_id]
        return statuses if len(statuses) >= 3 else None

    assert await eventually(relayed) == ["sent", "delivered", "read"]


async def test_a_reply_sent_before_a_later_message_is_not_skipped_by_the_cursor(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    session = await open_session(client)
    conversation = (await say(client, session, "hello")).json()["conversation_id"]
    reply = (await client.post(f"/v1/conversations/{conversation}/replies", headers=auth("agent"),
                               json={"text": "Hi! One moment."})).json()

    async def sent() -> bool:
        return (await agent_message(client, reply["id"]))["delivery_status"] == "sent"

    await eventually(sent)
    later = (await say(client, session, "are you there?")).json()
    # The widget's cursor is already past the reply (it sorts before "are you there?"), yet it is shown.
    history = await fetch(client, session, after=later["message_id"])
    assert [m["id"] for m in history["messages"]] == [reply["id"]]
    assert history["next_after"] == later["message_id"]
    assert (await fetch(client, session, after=later["message_id"]))["messages"] == []


async def test_the_cursor_is_a_message_id_or_a_time(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    session = await open_session(client)
    first = (await say(client, session, "one")).json()
    await say(client, session, "two")
    texts = [m["text"] for m in (await fetch(client, session, after=first["message_id"]))["messages"]]
    assert texts == ["two"]
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert [m["text"] for m in (await fetch(client, session, after=an_hour_ago))["messages"]] == ["one", "two"]
    bad = await client.get(f"{SESSIONS}/{session['session_id']}/messages", headers=token(session),
                           params={"after": "yesterday"})
    assert bad.status_code == 400
    someone_elses = (await say(client, await open_session(client), "not yours")).json()["message_id"]
    foreign = await client.get(f"{SESSIONS}/{session['session_id']}/messages", headers=token(session),
                               params={"after": someone_elses})
    assert foreign.status_code == 400


async def test_chat_replies_are_private(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    session = await open_session(client)
    conversation = (await say(client, session, "hi")).json()["conversation_id"]
    public = await client.post(f"/v1/conversations/{conversation}/replies", headers=auth("agent"),
                               json={"text": "hello", "visibility": "public"})
    assert public.status_code == 400 and "private" in public.json()["detail"]


async def test_an_archived_chat_message_replays_into_the_same_message(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    session = await open_session(client)
    ctx = app.state.contexts["ingest"]
    since = datetime.now(UTC)
    # As if the process died right after archiving the visitor's message.
    async with ctx.db.transaction() as tx:
        row = await IngestRepository(tx.session).chat_session(uuid.UUID(session["session_id"]))
    assert row is not None
    body = ChatAdapter.archived_body(row, "lost-1", "did you get this?", datetime.now(UTC))
    await intake.archive(ctx, "chat", "application/json", body)
    assert (await replay(ctx, channel="chat", since=since))["accepted"] == 1
    history = await fetch(client, session)
    assert [(m["client_message_id"], m["text"]) for m in history["messages"]] == [("lost-1", "did you get this?")]


async def test_the_widget_api_is_off_without_a_session_secret(database_url: str) -> None:
    async with running_app([COMPONENT], database_url) as (_, client):
        response = await client.post(SESSIONS, json={"widget_key": WIDGET_KEY, "visitor": {"name": "Ann"}})
    assert response.status_code == 404 and "CHAT_SESSION_SECRET" in response.json()["detail"]
