"""Agent replies, their delivery and the conversation's status, as the front-end API shows them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sportello.contracts import Event
from sportello.db import Database
from sportello_gateway.component import COMPONENT
from tests.gateway.builders import apply, delivery, publish, received, reply, status_changed
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

AGENT = auth("agent")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def gateway_db(app: FastAPI) -> Database:
    db: Database = app.state.contexts["gateway"].db
    return db


async def detail(client: httpx.AsyncClient, conversation_id: uuid.UUID) -> dict[str, Any]:
    response = await client.get(f"/v1/conversations/{conversation_id}", headers=AGENT)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def outbound(body: dict[str, Any]) -> dict[str, Any]:
    [message] = [m for m in body["messages"] if m["direction"] == "outbound"]
    return message


def at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


async def test_reply_shown_pending_then_moves_forward_only(database_url: str) -> None:
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    first = received(conversation_id, customer_id, T0, text="my order is late",
                     account="x:2244994945", visibility="private", flags=("spam",))
    answer = reply(conversation_id, customer_id, T0 + 2 * MINUTE, text="sorry, checking",
                   agent_id="agent-bea", visibility="private")
    async with running_app([COMPONENT], database_url) as (app, client):

        async def reply_in_status(status: str) -> dict[str, Any] | None:
            response = await client.get(f"/v1/conversations/{conversation_id}", headers=AGENT)
            if response.status_code != 200:
                return None
            body: dict[str, Any] = response.json()
            shown = [m for m in body["messages"] if m["id"] == str(answer.message_id)]
            return body if shown and shown[0]["delivery_status"] == status else None

        # Through the bus: the read model's group consumes the activity topic.
        await publish(app, [first, answer])
        pending = await eventually(lambda: reply_in_status("pending"))

        for step in ("sent", "delivered", "read"):
            external_id = "x-out-1" if step == "sent" else None
            await publish(app, [delivery(answer, step, T0 + 5 * MINUTE, external_id=external_id)])
            await eventually(lambda step=step: reply_in_status(step))

        # A late "delivered" does not undo "read". The status change behind it on the same topic
        # tells when it was handled.
        await publish(app, [delivery(answer, "delivered", T0 + 9 * MINUTE),
                            status_changed(conversation_id, customer_id, 1, "resolved",
                                           at=T0 + 10 * MINUTE)])

        async def resolved() -> dict[str, Any] | None:
            body = await detail(client, conversation_id)
            return body if body["status"] == "resolved" else None

        final = await eventually(resolved)

    assert [m["text"] for m in pending["messages"]] == ["my order is late", "sorry, checking"]
    assert pending["message_count"] == 2
    assert pending["first_response_at"] is None  # requested is not sent
    assert outbound(pending) == {
        "id": str(answer.message_id), "channel": "chat", "external_id": None,
        "direction": "outbound", "author": None, "agent_id": "agent-bea",
        "account": "chat:brand", "visibility": "private", "flags": [], "text": "sorry, checking",
        "sent_at": "2026-03-02T09:02:00Z", "delivery_status": "pending", "delivery_error": None,
        "score": None,
    }
    inbound = pending["messages"][0]
    assert (inbound["visibility"], inbound["account"], inbound["flags"]) == (
        "private", "x:2244994945", ["spam"])
    assert inbound["delivery_status"] is None

    assert outbound(final)["delivery_status"] == "read"
    assert outbound(final)["external_id"] == "x-out-1"
    assert at(final["first_response_at"]) == T0 + 5 * MINUTE  # when it was sent
    assert at(final["resolved_at"]) == T0 + 10 * MINUTE


async def test_delivery_update_before_its_reply_is_kept(database_url: str) -> None:
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    answer = reply(conversation_id, customer_id, T0 + MINUTE)
    async with running_app([COMPONENT], database_url) as (app, client):
        db = gateway_db(app)
        await apply(db, [
            received(conversation_id, customer_id, T0),
            delivery(answer, "delivered", T0 + 4 * MINUTE),
            delivery(answer, "sent", T0 + 3 * MINUTE, external_id="out-7"),
        ])
        before = await detail(client, conversation_id)
        await apply(db, [answer])
        after = await detail(client, conversation_id)

    # Until the reply itself is known, its delivery waits out of sight.
    assert [m["direction"] for m in before["messages"]] == ["inbound"]
    assert before["message_count"] == 1 and before["first_response_at"] is None
    message = outbound(after)
    assert (message["delivery_status"], message["external_id"]) == ("delivered", "out-7")
    assert (message["text"], message["channel"]) == ("we are on it", "chat")
    assert at(message["sent_at"]) == T0 + MINUTE
    assert after["message_count"] == 2
    assert at(after["first_response_at"]) == T0 + 3 * MINUTE


async def test_a_reply_alone_does_not_show_its_conversation(database_url: str) -> None:
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    # A private answer to a public comment goes out on a channel of its own.
    answer = reply(conversation_id, customer_id, T0 + MINUTE, channel="messenger",
                   visibility="private")
    comment = received(conversation_id, customer_id, T0, channel="facebook")
    async with running_app([COMPONENT], database_url) as (app, client):
        await apply(gateway_db(app), [answer])
        hidden = await client.get(f"/v1/conversations/{conversation_id}", headers=AGENT)
        await apply(gateway_db(app), [comment])
        body = await detail(client, conversation_id)
    assert hidden.status_code == 404
    assert body["channel"] == "facebook"
    assert at(body["opened_at"]) == comment.received_at
    assert [m["channel"] for m in body["messages"]] == ["facebook", "messenger"]


async def test_failed_reply_shows_why_and_is_not_a_response(database_url: str) -> None:
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    answer = reply(conversation_id, customer_id, T0 + MINUTE)
    async with running_app([COMPONENT], database_url) as (app, client):
        await apply(gateway_db(app), [
            received(conversation_id, customer_id, T0), answer,
            delivery(answer, "failed", T0 + 2 * MINUTE, error="recipient blocked the account"),
            delivery(answer, "sent", T0 + MINUTE),  # arrives late; failed stays
        ])
        body = await detail(client, conversation_id)
    message = outbound(body)
    assert (message["delivery_status"], message["delivery_error"]) == (
        "failed", "recipient blocked the account")
    assert body["first_response_at"] is None


async def test_status_follows_the_newest_sequence_and_filters_the_list(
    fresh_database_url: str,
) -> None:
    ids = {name: (uuid.uuid4(), uuid.uuid4()) for name in ("resolved", "reopened", "untouched")}
    events: list[Event] = [received(*pair, T0) for pair in ids.values()]
    events += [
        status_changed(*ids["resolved"], 2, "resolved", at=T0 + 5 * MINUTE),
        status_changed(*ids["resolved"], 1, "open", at=T0 + 3 * MINUTE),  # older, late: ignored
        status_changed(*ids["reopened"], 3, "open", at=T0 + 9 * MINUTE),
        status_changed(*ids["reopened"], 2, "resolved", at=T0 + 5 * MINUTE),
    ]
    async with running_app([COMPONENT], fresh_database_url) as (app, client):
        await apply(gateway_db(app), events)

        async def listed(**params: str) -> set[str]:
            response = await client.get("/v1/conversations", params=params, headers=AGENT)
            assert response.status_code == 200, response.text
            return {item["id"] for item in response.json()["items"]}

        resolved_only = await listed(status="resolved")
        open_only = await listed(status="open")
        resolved = await detail(client, ids["resolved"][0])
        reopened = await detail(client, ids["reopened"][0])
        summary = await client.get("/v1/metrics/summary", headers=auth("supervisor"))

    assert resolved_only == {str(ids["resolved"][0])}
    assert open_only == {str(ids["reopened"][0]), str(ids["untouched"][0])}
    assert (resolved["status"], at(resolved["resolved_at"])) == ("resolved", T0 + 5 * MINUTE)
    assert (reopened["status"], reopened["resolved_at"]) == ("open", None)
    assert summary.json()["conversations"]["open"] == 2


@pytest.mark.parametrize("sent_after", [timedelta(seconds=90), None])
async def test_first_response_metric_counts_a_reply_when_sent(
    fresh_database_url: str, sent_after: timedelta | None,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    asked = now - 10 * MINUTE
    answer = reply(conversation_id, customer_id, asked + 30 * timedelta(seconds=1))
    events: list[Event] = [received(conversation_id, customer_id, asked), answer]
    if sent_after is not None:
        events.append(delivery(answer, "sent", asked + sent_after, external_id="out-1"))
    async with running_app([COMPONENT], fresh_database_url) as (app, client):
        await apply(gateway_db(app), events)
        response = await client.get("/v1/metrics/summary", headers=auth("supervisor"))
    body = response.json()
    first = body["first_response_seconds"]
    if sent_after is None:
        assert first["count"] == 0  # requested 30 s after, but not sent yet
    else:
        assert (first["count"], first["median"]) == (1, pytest.approx(90))
    assert body["volume"] == {"inbound": 1, "outbound": 1, "by_channel": {"chat": 1}}
