"""The conversation's timeline: messages, assignment and status changes in the order they happened,
whatever order the events arrive in; one entry per event however often it is delivered; paged."""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sportello.contracts import Event
from sportello.db import Database
from sportello_gateway import queries
from sportello_gateway.component import COMPONENT
from tests.gateway.builders import (
    apply,
    assigned,
    envelope,
    escalated,
    queued,
    received,
    reply,
    status_changed,
)
from tests.support.app import auth, running_app

AGENT = auth("agent")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def gateway_db(app: FastAPI) -> Database:
    db: Database = app.state.contexts["gateway"].db
    return db


@pytest.fixture
async def gateway(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url) as running:
        yield running


def story(cid: uuid.UUID, customer: uuid.UUID, bea: uuid.UUID, cy: uuid.UUID) -> list[Event]:
    return [
        received(cid, customer, T0, text="my parcel is lost"),
        queued(cid, customer, 1, at=T0 + 1 * MINUTE, team="care", note="bot: parcel lost"),
        assigned(cid, customer, 2, agent_id=bea, name="Bea", team="care", at=T0 + 2 * MINUTE),
        reply(cid, customer, T0 + 3 * MINUTE, text="checking", agent_id=str(bea)),
        assigned(cid, customer, 3, agent_id=cy, name="Cy", team="claims", at=T0 + 4 * MINUTE,
                 reason="transfer", previous_agent_id=bea),
        escalated(cid, customer, 1, at=T0 + 5 * MINUTE, agent_id=cy, stage="at_risk"),
        status_changed(cid, customer, 1, "resolved", at=T0 + 6 * MINUTE),
        # The same moment as the customer's next message: the event's sequence breaks the tie.
        status_changed(cid, customer, 2, "open", at=T0 + 7 * MINUTE),
        received(cid, customer, T0 + 7 * MINUTE, text="still nothing"),
    ]


def summary(entry: dict[str, Any]) -> tuple[Any, ...]:
    kind = entry["kind"]
    if kind == "message":
        return kind, entry["message"]["text"]
    if kind == "assignment":
        change = entry["assignment"]
        agent = change["agent"]["name"] if change["agent"] else None
        return kind, change["action"], agent, change["team"], change["reason"]
    return kind, entry["status"]["action"], entry["status"]["by"]


EXPECTED = [
    ("message", "my parcel is lost"),
    ("assignment", "queued", None, "care", "new"),
    ("assignment", "assigned", "Bea", "care", "new"),
    ("message", "checking"),
    ("assignment", "transferred", "Cy", "claims", "transfer"),
    ("assignment", "escalated", None, None, "at_risk"),
    ("status", "resolved", None),
    ("message", "still nothing"),
    ("status", "reopened", "agent"),
]


async def test_timeline_is_in_the_order_things_happened_whatever_the_arrival(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = gateway
    rng = random.Random(20261124)
    for _ in range(3):
        cid, customer, bea, cy = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        events = story(cid, customer, bea, cy)
        await apply(gateway_db(app), rng.sample(events, len(events)))
        response = await client.get(f"/v1/conversations/{cid}", headers=AGENT)
        assert response.status_code == 200, response.text
        body = response.json()
        assert [summary(e) for e in body["timeline"]] == EXPECTED
        assert body["timeline_next_cursor"] is None
        at = [datetime.fromisoformat(e["at"]) for e in body["timeline"]]
        assert at == sorted(at)

    transfer = body["timeline"][4]["assignment"]
    assert transfer["previous_agent_id"] == str(bea)
    assert transfer["agent"] == {"id": str(cy), "name": "Cy", "team": "claims"}
    assert body["timeline"][1]["assignment"]["note"] == "bot: parcel lost"
    assert body["timeline"][5]["assignment"]["agent_id"] == str(cy)
    # A message entry carries the message as the detail shows it (its delivery, its author).
    assert body["timeline"][3]["message"]["delivery_status"] == "pending"
    assert body["timeline"][3]["message"]["agent_id"] == str(bea)
    # The detail keeps everything it had: the messages, the current state.
    assert [m["text"] for m in body["messages"]] == ["my parcel is lost", "checking",
                                                     "still nothing"]
    assert body["status"] == "open" and body["team"] == "claims"


async def test_the_same_event_twice_makes_one_entry(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = gateway
    cid, customer = uuid.uuid4(), uuid.uuid4()
    message = received(cid, customer, T0)
    assignment = envelope(assigned(cid, customer, 1, at=T0 + MINUTE))
    resolved = envelope(status_changed(cid, customer, 1, "resolved", at=T0 + 2 * MINUTE))
    # A redelivery keeps its envelope id; a message is its own id whatever envelope carries it.
    await apply(gateway_db(app), [message, assignment, resolved, message, assignment, resolved,
                                  envelope(message)])
    body = (await client.get(f"/v1/conversations/{cid}", headers=AGENT)).json()
    assert [e["kind"] for e in body["timeline"]] == ["message", "assignment", "status"]


async def test_a_stale_change_is_history_but_not_state(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = gateway
    cid, customer = uuid.uuid4(), uuid.uuid4()
    await apply(gateway_db(app), [
        received(cid, customer, T0),
        status_changed(cid, customer, 2, "open", at=T0 + 2 * MINUTE),
        status_changed(cid, customer, 1, "resolved", at=T0 + MINUTE),  # arrives late
    ])
    body = (await client.get(f"/v1/conversations/{cid}", headers=AGENT)).json()
    assert body["status"] == "open"
    assert [summary(e) for e in body["timeline"][1:]] == [("status", "resolved", None),
                                                          ("status", "reopened", "agent")]


async def _long_conversation(app: FastAPI, entries: int) -> uuid.UUID:
    cid, customer = uuid.uuid4(), uuid.uuid4()
    events: list[Event] = [received(cid, customer, T0 + i * MINUTE, text=f"message {i}")
                           for i in range(entries - 5)]
    # Five assignments at the same moment as message 3: ordered by their sequence after it.
    events += [assigned(cid, customer, seq, at=T0 + 3 * MINUTE, name=f"A{seq}")
               for seq in (5, 1, 4, 2, 3)]
    await apply(gateway_db(app), events)
    return cid


async def test_timeline_pages_without_duplicates_or_gaps(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = gateway
    cid = await _long_conversation(app, 23)
    url = f"/v1/conversations/{cid}/timeline"
    everything = (await client.get(url, params={"limit": 500}, headers=AGENT)).json()
    assert everything["next_cursor"] is None and len(everything["items"]) == 23
    names = [e["assignment"]["agent"]["name"] for e in everything["items"]
             if e["kind"] == "assignment"]
    assert names == ["A1", "A2", "A3", "A4", "A5"]
    assert everything["items"][3]["message"]["text"] == "message 3"
    assert everything["items"][4]["kind"] == "assignment"

    for limit in (1, 4, 22):
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(url, params=params, headers=AGENT)).json()
            seen += [e["id"] for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [e["id"] for e in everything["items"]]


async def test_detail_shows_the_first_entries_and_a_cursor_for_the_rest(
    gateway: tuple[FastAPI, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, client = gateway
    cid = await _long_conversation(app, 12)
    monkeypatch.setattr(queries, "DETAIL_TIMELINE_ENTRIES", 5)
    body = (await client.get(f"/v1/conversations/{cid}", headers=AGENT)).json()
    assert len(body["timeline"]) == 5 and len(body["messages"]) == 7
    rest = (await client.get(f"/v1/conversations/{cid}/timeline", headers=AGENT,
                             params={"cursor": body["timeline_next_cursor"]})).json()
    assert len(rest["items"]) == 7 and rest["next_cursor"] is None
    ids = [e["id"] for e in body["timeline"] + rest["items"]]
    assert len(set(ids)) == 12


async def test_timeline_errors_are_problems(gateway: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = gateway
    cid, other = await _long_conversation(app, 8), await _long_conversation(app, 8)
    page = (await client.get(f"/v1/conversations/{other}/timeline", params={"limit": 2},
                             headers=AGENT)).json()
    foreign, garbage = page["next_cursor"], base64.urlsafe_b64encode(b'{"t": 1}').decode()
    for cursor in (foreign, garbage, "%%%"):
        response = await client.get(f"/v1/conversations/{cid}/timeline",
                                    params={"cursor": cursor}, headers=AGENT)
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
    unknown = await client.get(f"/v1/conversations/{uuid.uuid4()}/timeline", headers=AGENT)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"/v1/conversations/{cid}/timeline")).status_code == 401
    assert (await client.get(f"/v1/conversations/{cid}/timeline",
                             headers=auth("integration"))).status_code == 403
    too_many = await client.get(f"/v1/conversations/{cid}/timeline", params={"limit": 501},
                                headers=AGENT)
    assert too_many.status_code == 422
