"""Assignment's HTTP API in-process: auth, validation and errors as problem+json, the queue."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sportello.runtime import Context
from sportello_assignment.component import COMPONENT
from tests.assignment.support import route, scored
from tests.support.app import auth, running_app


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app([COMPONENT], database_url) as (_, http):
        yield http


def new_agent(**overrides: Any) -> dict[str, Any]:
    return {"name": f"agent-{uuid.uuid4()}", "team": "care", "capacity": 3, "presence": "away",
            **overrides}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_agent_lifecycle(client: httpx.AsyncClient) -> None:
    name = f"Grace {uuid.uuid4()}"
    created = await client.post("/v1/agents", json=new_agent(name=f"  {name} "),
                                headers=auth("supervisor"))
    assert created.status_code == 201, created.text
    agent = created.json()
    assert agent["name"] == name
    assert {k: agent[k] for k in ("team", "capacity", "presence", "active_count")} == \
        {"team": "care", "capacity": 3, "presence": "away", "active_count": 0}

    fetched = await client.get(f"/v1/agents/{agent['id']}", headers=auth("agent"))
    assert fetched.status_code == 200 and fetched.json() == agent
    listed = await client.get("/v1/agents", headers=auth("agent"))
    assert agent in listed.json()

    patched = await client.patch(f"/v1/agents/{agent['id']}", json={"capacity": 7},
                                 headers=auth("supervisor"))
    assert patched.status_code == 200
    assert patched.json()["capacity"] == 7 and patched.json()["presence"] == "away"
    patched = await client.patch(f"/v1/agents/{agent['id']}", json={"presence": "offline"},
                                 headers=auth("admin"))
    assert patched.json()["capacity"] == 7 and patched.json()["presence"] == "offline"


async def test_names_are_unique(client: httpx.AsyncClient) -> None:
    body = new_agent()
    first = await client.post("/v1/agents", json=body, headers=auth("supervisor"))
    assert first.status_code == 201
    duplicate = await client.post("/v1/agents", json=body, headers=auth("supervisor"))
    assert_problem(duplicate, 409)


_CONVERSATION = f"/v1/conversations/{uuid.uuid4()}"


@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/agents"), ("GET", f"/v1/agents/{uuid.uuid4()}"), ("GET", "/v1/queue"),
    ("POST", "/v1/agents"), ("PATCH", f"/v1/agents/{uuid.uuid4()}"),
    ("POST", f"/v1/agents/{uuid.uuid4()}/heartbeat"), ("GET", f"/v1/agents/{uuid.uuid4()}/worklist"),
    ("GET", "/v1/teams"),
    ("PUT", "/v1/teams/care"), ("GET", "/v1/queue/escalated"),
    ("POST", f"{_CONVERSATION}/assign"), ("POST", f"{_CONVERSATION}/claim"),
    ("POST", f"{_CONVERSATION}/transfer"), ("POST", f"{_CONVERSATION}/handoff"),
])
async def test_every_endpoint_needs_a_token(client: httpx.AsyncClient, method: str,
                                            path: str) -> None:
    response = await client.request(method, path, json={})
    assert_problem(response, 401)
    bad = await client.request(method, path, json={}, headers={"Authorization": "Bearer nope"})
    assert_problem(bad, 401)


async def test_writes_need_a_supervisor(client: httpx.AsyncClient) -> None:
    forbidden = await client.post("/v1/agents", json=new_agent(), headers=auth("agent"))
    assert_problem(forbidden, 403)
    forbidden = await client.patch(f"/v1/agents/{uuid.uuid4()}", json={"capacity": 2},
                                   headers=auth("agent"))
    assert_problem(forbidden, 403)
    integration = await client.get("/v1/agents", headers=auth("integration"))
    assert_problem(integration, 403)


@pytest.mark.parametrize("method, path, role, body", [
    ("PUT", "/v1/teams/care", "agent", {"accounts": []}),
    ("GET", "/v1/queue/escalated", "agent", None),
    ("POST", f"{_CONVERSATION}/assign", "agent", {"agent_id": str(uuid.uuid4())}),
    ("POST", f"{_CONVERSATION}/claim", "integration", {"agent_id": str(uuid.uuid4())}),
    ("POST", f"{_CONVERSATION}/handoff", "agent", {}),
    ("PATCH", f"/v1/agents/{uuid.uuid4()}", "agent", {"languages": ["it"]}),
])
async def test_each_action_needs_its_role(client: httpx.AsyncClient, method: str, path: str,
                                          role: str, body: dict[str, Any] | None) -> None:
    assert_problem(await client.request(method, path, json=body, headers=auth(role)), 403)


@pytest.mark.parametrize("body", [
    new_agent(capacity=0), new_agent(capacity=51), new_agent(presence="busy"),
    new_agent(name="   "), {"name": "x", "capacity": 2}, new_agent(languages=["x" * 65]),
    new_agent(extra="field"),
])
async def test_invalid_agents_are_rejected(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/v1/agents", json=body, headers=auth("supervisor"))
    problem = assert_problem(response, 422)
    assert problem["errors"]


async def test_invalid_changes_are_rejected(client: httpx.AsyncClient) -> None:
    agent = (await client.post("/v1/agents", json=new_agent(),
                               headers=auth("supervisor"))).json()
    for change in ({}, {"capacity": 0}, {"presence": "gone"}, {"name": "renamed"}):
        response = await client.patch(f"/v1/agents/{agent['id']}", json=change,
                                      headers=auth("supervisor"))
        assert_problem(response, 422)
    not_uuid = await client.get("/v1/agents/not-a-uuid", headers=auth("agent"))
    assert_problem(not_uuid, 422)
    bad_limit = await client.get("/v1/queue", params={"limit": 0}, headers=auth("agent"))
    assert_problem(bad_limit, 422)


async def test_unknown_agent_is_not_found(client: httpx.AsyncClient) -> None:
    missing = uuid.uuid4()
    assert_problem(await client.get(f"/v1/agents/{missing}", headers=auth("agent")), 404)
    assert_problem(await client.get(f"/v1/agents/{missing}/worklist", headers=auth("agent")), 404)
    response = await client.patch(f"/v1/agents/{missing}", json={"capacity": 2},
                                  headers=auth("supervisor"))
    assert_problem(response, 404)


async def test_queue_order_and_an_agent_coming_online_takes_from_it(
    fresh_database_url: str,
) -> None:
    # A fresh database: nobody else's agents may take these conversations.
    async with running_app([COMPONENT], fresh_database_url) as (app, client):
        db = _context(app).db
        low, high, high_later = scored(priority=5), scored(priority=70), scored(priority=70)
        for event in (low, high, high_later):
            assert (await route(db, event)).outcome == "queued"

        queue = (await client.get("/v1/queue", headers=auth("agent"))).json()
        assert [q["conversation_id"] for q in queue] == \
            [str(e.conversation_id) for e in (high, high_later, low)]
        assert queue[0]["priority"] == 70 and queue[0]["customer_id"] == str(high.customer_id)
        limited = await client.get("/v1/queue", params={"limit": 1}, headers=auth("agent"))
        assert len(limited.json()) == 1

        created = await client.post("/v1/agents", json=new_agent(capacity=2, presence="online"),
                                    headers=auth("supervisor"))
        assert created.json()["active_count"] == 2
        queue = (await client.get("/v1/queue", headers=auth("agent"))).json()
        assert [q["conversation_id"] for q in queue] == [str(low.conversation_id)]
        worklist = (await client.get(f"/v1/agents/{created.json()['id']}/worklist",
                                     headers=auth("agent"))).json()
        assert [(w["conversation_id"], w["status"]) for w in worklist] == \
            [(str(high.conversation_id), "assigned"), (str(high_later.conversation_id), "assigned")]


def _context(app: FastAPI) -> Context:
    contexts: dict[str, Context] = app.state.contexts
    return contexts["assignment"]


async def test_routing_actions_over_http(fresh_database_url: str) -> None:
    async with running_app([COMPONENT], fresh_database_url) as (app, client):
        db = _context(app).db
        supervisor, agent_auth = auth("supervisor"), auth("agent")
        ada = (await client.post("/v1/agents", json=new_agent(capacity=1, languages=["IT", "en"]),
                                 headers=supervisor)).json()
        bo = (await client.post("/v1/agents", json=new_agent(capacity=1), headers=supervisor)).json()
        assert ada["languages"] == ["it", "en"] and ada["presence"] == "away"
        event = scored()
        assert (await route(db, event)).outcome == "queued"  # nobody online
        path = f"/v1/conversations/{event.conversation_id}"

        claimed = await client.post(f"{path}/claim", json={"agent_id": ada["id"]},
                                    headers=agent_auth)
        assert claimed.status_code == 200, claimed.text
        assert claimed.json() == {"conversation_id": str(event.conversation_id),
                                  "status": "assigned", "agent_id": ada["id"]}
        # Claimed already: a second claim is a conflict, not a silent steal.
        assert_problem(await client.post(f"{path}/claim", json={"agent_id": bo["id"]},
                                         headers=agent_auth), 409)
        moved = await client.post(f"{path}/transfer", json={"agent_id": bo["id"]},
                                  headers=agent_auth)
        assert moved.json()["agent_id"] == bo["id"]
        ada_now = (await client.get(f"/v1/agents/{ada['id']}", headers=agent_auth)).json()
        assert ada_now["active_count"] == 0
        # Bo is full: assigning him another conversation is refused.
        other = scored()
        await route(db, other)
        assert_problem(await client.post(f"/v1/conversations/{other.conversation_id}/assign",
                                         json={"agent_id": bo["id"]}, headers=supervisor), 409)
        to_team = await client.post(f"{path}/transfer", json={"team": "billing"},
                                    headers=agent_auth)
        assert to_team.json()["status"] == "queued"
        queue = (await client.get("/v1/queue", headers=agent_auth)).json()
        assert {q["conversation_id"]: q["team"] for q in queue}[str(event.conversation_id)] == \
            "billing"
        both = await client.post(f"{path}/transfer", json={"team": "x", "agent_id": bo["id"]},
                                 headers=agent_auth)
        assert_problem(both, 422)
        assert_problem(await client.post(f"/v1/conversations/{uuid.uuid4()}/assign",
                                         json={"agent_id": bo["id"]}, headers=supervisor), 404)
        not_bot = await client.post(f"{path}/handoff", json={}, headers=auth("integration"))
        assert not_bot.status_code == 200 and not_bot.json()["status"] == "queued"

        team = await client.put("/v1/teams/billing", json={"accounts": ["x:123"]},
                                headers=supervisor)
        assert team.json() == {"name": "billing", "accounts": ["x:123"]}
        assert (await client.get("/v1/teams", headers=agent_auth)).json() == [team.json()]
        beat = await client.post(f"/v1/agents/{ada['id']}/heartbeat", headers=agent_auth)
        assert beat.status_code == 200
        assert (await client.get("/v1/queue/escalated", headers=supervisor)).json() == []
        # An agent sets their own presence; going online drains what they may take.
        online = await client.patch(f"/v1/agents/{ada['id']}", json={"presence": "online"},
                                    headers=agent_auth)
        assert online.json()["presence"] == "online"
