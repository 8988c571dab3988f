"""Threading and identity rules, through the generic API channel on real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from sportello.bus.codec import decode
from sportello.contracts import ConversationStatusChanged, MessageReceived
from sportello.topics import CONVERSATIONS_ACTIVITY, MESSAGES_RECEIVED
from sportello_ingest.component import COMPONENT
from sportello_ingest.tables import conversations, deliveries
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

URL = "/v1/channels/api/messages"


@pytest.fixture(scope="module")
async def ingest(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url, reopen_window_seconds=3600,
                           dm_continuation_window_seconds=600) as running:
        yield running


async def post(client: httpx.AsyncClient, author_id: str, **fields: Any) -> dict[str, Any]:
    message = {"channel": "twitter", "account": "brand-a", "external_id": uuid.uuid4().hex,
               "author": {"id": author_id, "display_name": author_id}, "text": "hello",
               "sent_at": datetime.now(UTC).isoformat(), **fields}
    response = await client.post(URL, json=message, headers=auth("integration"))
    assert response.status_code in (200, 201, 202), response.text
    return {**response.json(), "external_id": message["external_id"]}


async def resolve(client: httpx.AsyncClient, conversation_id: str, *, ago: timedelta | None = None,
                  app: FastAPI | None = None) -> None:
    response = await client.post(f"/v1/conversations/{conversation_id}/resolve", headers=auth("agent"))
    assert response.status_code == 200
    if ago is not None and app is not None:  # as if it had been resolved that long ago
        async with app.state.contexts["ingest"].db.transaction() as tx:
            await tx.session.execute(update(conversations).where(conversations.c.id == uuid.UUID(conversation_id))
                                     .values(resolved_at=datetime.now(UTC) - ago))


def status_changes(app: FastAPI, conversation_id: str) -> list[ConversationStatusChanged]:
    records = app.state.runtime.bus.records(CONVERSATIONS_ACTIVITY.name)
    return [e for e in (decode(r, CONVERSATIONS_ACTIVITY).data for r in records)
            if isinstance(e, ConversationStatusChanged) and str(e.conversation_id) == conversation_id]


async def test_one_open_conversation_per_customer_and_brand_account(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    author = uuid.uuid4().hex
    first = await post(client, author)
    again = await post(client, author, text="any news?")
    other_brand = await post(client, author, account="brand-b")
    assert first["conversation_id"] == again["conversation_id"] != other_brand["conversation_id"]
    assert first["customer_id"] == other_brand["customer_id"]  # one customer, two brand accounts


async def test_a_reply_follows_its_parent_even_from_another_customer(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    complaint = await post(client, uuid.uuid4().hex, text="the app is down")
    me_too = await post(client, uuid.uuid4().hex, text="same here!", reply_to=complaint["external_id"])
    assert me_too["conversation_id"] == complaint["conversation_id"]
    assert me_too["customer_id"] != complaint["customer_id"]


async def test_recently_resolved_reopens_older_starts_anew(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    author = uuid.uuid4().hex
    first = await post(client, author)
    await resolve(client, first["conversation_id"], ago=timedelta(minutes=30), app=app)
    follow_up = await post(client, author, text="actually, one more thing")
    assert follow_up["conversation_id"] == first["conversation_id"]
    changes = await eventually(lambda: status_changes(app, first["conversation_id"])[1:] or None)
    assert [(c.status, c.reason, c.sequence) for c in status_changes(app, first["conversation_id"])] == [
        ("resolved", "resolved", 1), ("open", "reopened_by_customer", 2)]
    assert changes

    await resolve(client, first["conversation_id"], ago=timedelta(hours=2), app=app)
    weeks_later = await post(client, author, text="new problem")
    assert weeks_later["conversation_id"] != first["conversation_id"]
    # ...and a reply to a message of the old, closed case does not reopen it either.
    late_reply = await post(client, author, reply_to=first["external_id"], text="re: that")
    assert late_reply["conversation_id"] == weeks_later["conversation_id"]


async def test_private_message_continues_a_recent_public_one(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    author = uuid.uuid4().hex
    public = await post(client, author, text="@brand refund please")
    await resolve(client, public["conversation_id"], ago=timedelta(hours=2), app=app)  # past reopening
    private = await post(client, author, visibility="private", text="my order is 1234")
    assert private["conversation_id"] == public["conversation_id"]
    received = await eventually(lambda: [e for e in _received(app) if str(e.message_id) == private["message_id"]])
    assert str(received[0].linked_message_id) == public["message_id"]
    assert status_changes(app, public["conversation_id"])[-1].reason == "continued_in_private"


async def test_private_message_long_after_the_public_one_is_not_linked(database_url: str) -> None:
    async with running_app([COMPONENT], database_url, dm_continuation_window_seconds=60) as (_, client):
        author = uuid.uuid4().hex
        old = datetime.now(UTC) - timedelta(hours=1)
        public = await post(client, author, sent_at=old.isoformat())
        private = await post(client, author, visibility="private")
        detail = (await client.get(f"/v1/messages/{private['message_id']}", headers=auth("agent"))).json()
        assert detail["linked_message_id"] is None
        assert private["conversation_id"] == public["conversation_id"]  # still open: rule 2 applies


async def test_blocked_customer_is_archived_but_opens_nothing(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    author = uuid.uuid4().hex
    first = await post(client, author)
    await resolve(client, first["conversation_id"], ago=timedelta(days=30), app=app)
    blocked = await client.post(f"/v1/customers/{first['customer_id']}/block", json={"reason": "abuse"},
                                headers=auth("supervisor"))
    assert blocked.status_code == 200 and blocked.json()["blocked"] is True
    assert (await client.post(f"/v1/customers/{first['customer_id']}/block", json={},
                              headers=auth("agent"))).status_code == 403

    spam = await post(client, author, text="BUY FOLLOWERS")
    assert spam["outcome"] == "blocked" and spam["conversation_id"] is None
    async with app.state.contexts["ingest"].db.transaction() as tx:
        archived = (await tx.session.execute(
            select(deliveries.c.outcome).where(deliveries.c.body.contains(spam["external_id"].encode()))
        )).scalar_one()
        open_ones = (await tx.session.execute(
            select(conversations.c.id).where(conversations.c.customer_id == uuid.UUID(first["customer_id"]),
                                             conversations.c.status == "open"))).all()
    assert archived == "blocked" and open_ones == []
    assert all(e.text != "BUY FOLLOWERS" for e in _received(app))

    await client.post(f"/v1/customers/{first['customer_id']}/unblock", headers=auth("supervisor"))
    assert (await post(client, author))["outcome"] == "accepted"


async def test_linked_identities_give_one_customer_history(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    handle, address = uuid.uuid4().hex, f"{uuid.uuid4().hex}@example.com"
    tweet = await post(client, handle)
    linked = await client.post(f"/v1/customers/{tweet['customer_id']}/identities",
                               json={"platform": "email", "external_id": address}, headers=auth("supervisor"))
    assert linked.status_code == 200
    assert {(i["platform"], i["external_id"]) for i in linked.json()["identities"]} == {
        ("twitter", handle), ("email", address)}
    mail = await post(client, address, channel="email", account="support@brand.example", visibility="private")
    assert mail["customer_id"] == tweet["customer_id"]
    assert mail["conversation_id"] != tweet["conversation_id"]  # another brand account, its own case

    someone_else = await post(client, uuid.uuid4().hex)
    taken = await client.post(f"/v1/customers/{someone_else['customer_id']}/identities",
                              json={"platform": "email", "external_id": address}, headers=auth("supervisor"))
    assert taken.status_code == 409 and taken.json()["customer_id"] == tweet["customer_id"]


async def test_spam_flags_travel_downstream(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = ingest
    flagged = await post(client, uuid.uuid4().hex, flags=["spam"])
    event = await eventually(lambda: [e for e in _received(app) if str(e.message_id) == flagged["message_id"]])
    assert event[0].flags == ("spam",)


def _received(app: FastAPI) -> list[MessageReceived]:
    records = app.state.runtime.bus.records(MESSAGES_RECEIVED.name)
    return [decode(r, MESSAGES_RECEIVED).data for r in records]  # type: ignore[misc]


async def test_the_profile_follows_what_the_platform_says_last(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    author = uuid.uuid4().hex
    seen = [{"display_name": "Ann", "followers": 10},
            {"display_name": "Ann B.", "followers": 2500, "verified": True},
            {"display_name": "Ann B.", "verified": True}]  # no count this time: the last one stays
    pushed = [await post(client, author, author={"id": author, **profile}) for profile in seen]
    customer = (await client.get(f"/v1/customers/{pushed[0]['customer_id']}", headers=auth("agent"))).json()
    assert (customer["display_name"], customer["followers"], customer["verified"]) == ("Ann B.", 2500, True)
