"""The front-end API over HTTP, the gateway running in-process with the in-process bus."""

from __future__ import annotations

import base64
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sportello.contracts import Event
from sportello.db import Database
from sportello_gateway.component import COMPONENT
from tests.gateway.builders import apply, assigned, publish, queued, received, scored
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

AGENT = auth("agent")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def gateway_db(app: FastAPI) -> Database:
    db: Database = app.state.contexts["gateway"].db
    return db




async def test_detail_built_from_bus_events_in_any_order(database_url: str) -> None:
    conversation_id, customer_id, agent_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    first = received(conversation_id, customer_id, T0, text="my order is late", author="Ada")
    reply = received(conversation_id, customer_id, T0 + timedelta(minutes=3),
                     direction="outbound", text="sorry, checking", author="Brand")
    second = received(conversation_id, customer_id, T0 + timedelta(minutes=5), text="still?",
                      author="Ada")
    events: list[Event] = [
        scored(second, score=75, conversation_priority=75, label="negative", sentiment=-0.9),
        assigned(conversation_id, customer_id, 1, agent_id=agent_id, name="Bea", team="care",
                 at=T0 + timedelta(minutes=1)),
        second, reply,
        scored(first, score=30, conversation_priority=30, label="neutral", sentiment=0.0),
        first,
    ]
    async with running_app([COMPONENT], database_url) as (app, client):
        await publish(app, events)

        async def complete() -> dict[str, Any] | None:
            response = await client.get(f"/v1/conversations/{conversation_id}", headers=AGENT)
            body: dict[str, Any] = response.json()
            done = response.status_code == 200 and body["message_count"] == 3 and body[
                "assignment"]["state"] == "assigned" and body["priority"] == 75 and all(
                m["score"] is not None for m in body["messages"] if m["direction"] == "inbound")
            return body if done else None

        body = await eventually(complete)

    assert body["customer"] == {"id": str(customer_id), "display_name": "Ada"}
    assert body["channel"] == "chat" and body["status"] == "open"
    assert body["assignment"] == {
        "state": "assigned", "agent": {"id": str(agent_id), "name": "Bea", "team": "care"},
        "assigned_at": (T0 + timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
    }
    assert body["sentiment"] == {"label": "negative", "score": -0.9}  # the latest scored inbound
    assert datetime.fromisoformat(body["first_response_at"]) == T0 + timedelta(minutes=3)
    assert datetime.fromisoformat(body["last_message_at"]) == T0 + timedelta(minutes=5)
    assert [m["text"] for m in body["messages"]] == ["my order is late", "sorry, checking",
                                                     "still?"]
    inbound = body["messages"][0]
    assert inbound["id"] == str(first.message_id)
    assert inbound["external_id"] == first.external_id
    assert inbound["author"] == {"id": "author-Ada", "display_name": "Ada"}
    assert inbound["score"] == {
        "value": 30, "sentiment": {"label": "neutral", "score": 0.0}, "scorer": "rules-v1",
        # value and weight are null: this scorer's factors predate them.
        "breakdown": [{"factor": "sentiment", "contribution": 15, "reason": "angry",
                       "value": None, "weight": None},
                      {"factor": "followers", "contribution": 15, "reason": "many",
                       "value": None, "weight": None}],
    }
    assert body["messages"][1]["direction"] == "outbound"
    assert body["messages"][1]["score"] is None


async def test_unknown_or_not_yet_opened_conversation_is_404(database_url: str) -> None:
    known_only_by_assignment, customer_id = uuid.uuid4(), uuid.uuid4()
    async with running_app([COMPONENT], database_url) as (app, client):
        await apply(gateway_db(app), [assigned(known_only_by_assignment, customer_id, 1, at=T0)])
        for conversation_id in (uuid.uuid4(), known_only_by_assignment):
            response = await client.get(f"/v1/conversations/{conversation_id}", headers=AGENT)
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["status"] == 404


async def test_roles(database_url: str) -> None:
    async with running_app([COMPONENT], database_url) as (_, client):
        assert (await client.get("/v1/conversations")).status_code == 401
        bad = {"Authorization": "Bearer not-a-valid-token-at-all"}
        assert (await client.get("/v1/conversations", headers=bad)).status_code == 401
        integration = auth("integration")
        assert (await client.get("/v1/conversations", headers=integration)).status_code == 403
        detail = await client.get(f"/v1/conversations/{uuid.uuid4()}", headers=integration)
        assert detail.status_code == 403
        assert (await client.get("/v1/metrics/summary", headers=AGENT)).status_code == 403
        assert (await client.get("/v1/metrics/summary")).status_code == 401
        supervisor = auth("supervisor")
        assert (await client.get("/v1/metrics/summary", headers=supervisor)).status_code == 200
        assert (await client.get("/v1/conversations", headers=supervisor)).status_code == 200


async def test_openapi_documents_the_endpoints(database_url: str) -> None:
    async with running_app([COMPONENT], database_url) as (_, client):
        paths = (await client.get("/openapi.json")).json()["paths"]
    documented = {
        ("get", "/v1/conversations", "200"), ("get", "/v1/conversations/{conversation_id}", "200"),
        ("get", "/v1/conversations/{conversation_id}/timeline", "200"),
        ("post", "/v1/conversations/{conversation_id}/notes", "201"),
        ("put", "/v1/conversations/{conversation_id}/tags", "200"),
        ("post", "/v1/conversations/{conversation_id}/tags", "200"),
        ("delete", "/v1/conversations/{conversation_id}/tags/{tag}", "200"),
        ("get", "/v1/metrics/summary", "200"),
    }
    for method, path, status in documented:
        operation = paths[path][method]
        assert operation["summary"]
        assert "$ref" in operation["responses"][status]["content"]["application/json"]["schema"]
        assert {"401", "403"} <= set(operation["responses"]), (method, path)
    for method, path in (("post", "/v1/conversations/{conversation_id}/notes"),
                         ("put", "/v1/conversations/{conversation_id}/tags")):
        assert "404" in paths[path][method]["responses"]
        assert "requestBody" in paths[path][method]


async def _page_through(client: httpx.AsyncClient, limit: int, **params: str) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        query = {"limit": str(limit), **params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/conversations", params=query, headers=AGENT)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        assert len(page["items"]) == limit
    raise AssertionError("pagination did not end")


async def test_list_order_and_keyset_pagination_with_ties(fresh_database_url: str) -> None:
    rng = random.Random(11)
    events: list[Event] = []
    expected: list[tuple[float, datetime, uuid.UUID]] = []
    for _ in range(23):
        conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
        # Few distinct priorities and opening times: most rows tie and only the id tells them apart.
        opened = T0 + timedelta(minutes=rng.choice([0, 0, 5]))
        message = received(conversation_id, customer_id, opened - timedelta(seconds=1))
        priority = rng.choice([0, 50, 50, 90])
        events.append(message)
        if priority:
            events.append(scored(message, score=priority, conversation_priority=priority))
        expected.append((priority, opened, conversation_id))
    expected.sort(key=lambda row: (-row[0], row[1], row[2]))

    async with running_app([COMPONENT], fresh_database_url) as (app, client):
        await apply(gateway_db(app), events)
        first_page = (await client.get("/v1/conversations", headers=AGENT)).json()
        for limit in (1, 4, 7, 23, 200):
            assert await _page_through(client, limit) == [str(row[2]) for row in expected]

    assert first_page["next_cursor"] is None
    priorities = [item["priority"] for item in first_page["items"]]
    assert priorities == sorted(priorities, reverse=True)
    assert len({p for p, _, _ in expected}) < len(expected)  # the data set really has ties


async def test_filters_and_hidden_conversations(fresh_database_url: str) -> None:
    ids = {name: (uuid.uuid4(), uuid.uuid4()) for name in
           ("mine", "queued", "unrouted", "theirs", "no_message_yet")}
    me, them = uuid.uuid4(), uuid.uuid4()
    events: list[Event] = [
        received(*ids[name], T0) for name in ("mine", "queued", "unrouted", "theirs")
    ]
    events += [
        assigned(*ids["mine"], 1, agent_id=me, at=T0),
        queued(*ids["queued"], 1, at=T0),
        assigned(*ids["theirs"], 1, agent_id=them, at=T0),
        assigned(*ids["no_message_yet"], 1, agent_id=me, at=T0),
    ]

    async with running_app([COMPONENT], fresh_database_url) as (app, client):
        await apply(gateway_db(app), events)

        async def listed(**params: str) -> set[str]:
            response = await client.get("/v1/conversations", params=params, headers=AGENT)
            assert response.status_code == 200, response.text
            return {item["id"] for item in response.json()["items"]}

        def named(*names: str) -> set[str]:
            return {str(ids[name][0]) for name in names}

        everything = named("mine", "queued", "unrouted", "theirs")
        assert await listed() == everything
        assert await listed(status="open") == everything
        assert await listed(status="resolved") == set()
        assert await listed(assignee=str(me)) == named("mine")
        assert await listed(assignee="unassigned") == named("queued", "unrouted")
        assert await listed(assignee="unassigned", status="open") == named("queued", "unrouted")
        for bad in ({"assignee": "nobody"}, {"status": "closed"}, {"limit": "0"},
                    {"limit": "201"}):
            response = await client.get("/v1/conversations", params=bad, headers=AGENT)
            assert response.status_code == 422, bad


@pytest.mark.parametrize("cursor", ["%%%", base64.urlsafe_b64encode(b'{"p": 1}').decode()])
async def test_bad_cursor_is_a_400_problem(database_url: str, cursor: str) -> None:
    async with running_app([COMPONENT], database_url) as (_, client):
        response = await client.get("/v1/conversations", params={"cursor": cursor},
                                    headers=AGENT)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/invalid-request")


async def test_metrics_summary(fresh_database_url: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    since = now - timedelta(hours=1)
    convs = {name: (uuid.uuid4(), uuid.uuid4()) for name in range(1, 9)}

    def msg(n: int, at: datetime, channel: str, direction: str = "inbound") -> Event:
        return received(*convs[n], at, channel=channel, direction=direction)

    m = timedelta(minutes=1)
    s = timedelta(seconds=1)
    events: list[Event] = [
        # First responses since `since`: 60, 120, 180, 240, 600 seconds.
        msg(1, now - 50 * m, "chat"), msg(1, now - 50 * m + 60 * s, "chat", "outbound"),
        msg(2, now - 40 * m, "chat"), msg(2, now - 40 * m + 120 * s, "chat", "outbound"),
        msg(3, now - 30 * m, "email"), msg(3, now - 29 * m, "email"),
        msg(3, now - 30 * m + 180 * s, "email", "outbound"),
        msg(4, now - 20 * m, "x"), msg(4, now - 20 * m + 240 * s, "x", "outbound"),
        msg(4, now - 20 * m + 300 * s, "x", "outbound"),
        msg(5, now - 15 * m, "chat"), msg(5, now - 15 * m + 600 * s, "chat", "outbound"),
        # First response (30 s) before `since`; a new inbound message after it.
        msg(6, now - 180 * m, "chat"), msg(6, now - 180 * m + 30 * s, "chat", "outbound"),
        msg(6, now - 10 * m, "chat"),
        # No response yet.
        msg(7, now - 5 * m, "email"),
        assigned(*convs[1], 1, at=now), assigned(*convs[2], 1, at=now),
        assigned(*convs[5], 1, at=now), queued(*convs[3], 1, at=now),
        # Known only by its assignment: not counted anywhere.
        assigned(*convs[8], 1, at=now),
    ]
    supervisor = auth("supervisor")
    async with running_app([COMPONENT], fresh_database_url) as (app, client):
        await apply(gateway_db(app), events)
        response = await client.get("/v1/metrics/summary", params={"since": since.isoformat()},
                                    headers=supervisor)
        default = await client.get("/v1/metrics/summary", headers=supervisor)
        naive = await client.get("/v1/metrics/summary",
                                 params={"since": since.replace(tzinfo=None).isoformat()},
                                 headers=supervisor)

    assert response.status_code == 200, response.text
    body = response.json()
    assert datetime.fromisoformat(body["since"]) == since
    assert body["volume"] == {"inbound": 8, "outbound": 6,
                              "by_channel": {"chat": 4, "email": 3, "x": 1}}
    assert body["conversations"] == {"open": 7, "unassigned": 3, "queued": 1, "assigned": 3}
    first = body["first_response_seconds"]
    assert first["count"] == 5
    assert first["median"] == pytest.approx(180)
    assert first["p90"] == pytest.approx(240 + 0.6 * 360)  # percentile_cont interpolates
    assert first["mean"] == pytest.approx(240)

    # The default window is the last 24 hours: conversation 6's early exchange counts too.
    assert default.status_code == 200
    assert default.json()["volume"]["inbound"] == 9
    assert default.json()["volume"]["outbound"] == 7
    assert default.json()["first_response_seconds"]["count"] == 6
    assert naive.status_code == 422


async def test_metrics_summary_with_no_responses(fresh_database_url: str) -> None:
    async with running_app([COMPONENT], fresh_database_url) as (_, client):
        response = await client.get("/v1/metrics/summary", headers=auth("admin"))
    assert response.json()["first_response_seconds"] == {"count": 0, "median": None, "p90": None,
                                                          "mean": None}
