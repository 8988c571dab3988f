"""Canned responses: CRUD by supervisors, unique shortcuts per team, what each agent is offered,
search, and rendering placeholders from a conversation; every refusal a problem document."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from sportello.db import Database
from sportello_gateway.component import COMPONENT
from tests.gateway.builders import apply, assigned, received
from tests.support.app import auth, running_app

JWT_SECRET = "a-test-only-hs256-secret-for-canned-responses"
AGENT, SUPERVISOR = auth("agent"), auth("supervisor")
PROBLEM = "application/problem+json"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
URL = "/v1/canned-responses"


@pytest.fixture
async def gateway(fresh_database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    # A database of its own: listings include the global responses, which other tests would add.
    async with running_app([COMPONENT], fresh_database_url,
                           jwt_secret=SecretStr(JWT_SECRET)) as running:
        yield running


def signed_in(role: str, teams: list[str]) -> dict[str, str]:
    """An OIDC-style bearer token, as an agent's console would send it."""
    now = int(time.time())
    claims = {"sub": f"user-{uuid.uuid4()}", "aud": "sportello", "iat": now, "exp": now + 600,
              "roles": [role], "teams": teams}
    return {"Authorization": f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}"}


def new(shortcut: str, **fields: Any) -> dict[str, Any]:
    return {"shortcut": shortcut, "title": f"Title of {shortcut}",
            "text": f"Text of {shortcut}", **fields}


async def create(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(URL, headers=SUPERVISOR, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def listed(client: httpx.AsyncClient, headers: dict[str, str],
                 **params: Any) -> list[tuple[str, str | None]]:
    response = await client.get(URL, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [(item["shortcut"], item["team"]) for item in response.json()["items"]]


async def conversation(app: FastAPI, *, team: str = "care", customer: str = "Ada",
                       agent: str = "Bea", channel: str = "chat") -> uuid.UUID:
    db: Database = app.state.contexts["gateway"].db
    cid, customer_id = uuid.uuid4(), uuid.uuid4()
    await apply(db, [received(cid, customer_id, T0, author=customer, channel=channel),
                     assigned(cid, customer_id, 1, team=team, name=agent, at=T0)])
    return cid


async def test_create_read_update_delete(gateway: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = gateway
    created = await create(client, new("refund-delay", team="care", language="en"))
    assert (created["shortcut"], created["team"], created["language"]) == (
        "refund-delay", "care", "en")
    assert created["created_by"] == created["updated_by"] == "supervisor:token-0000"

    url = f"{URL}/{created['id']}"
    assert (await client.get(url, headers=AGENT)).json() == created

    patched = await client.patch(url, headers=SUPERVISOR,
                                 json={"title": "Refund delayed", "language": None})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["title"], body["language"], body["text"], body["team"]) == (
        "Refund delayed", None, created["text"], "care")
    assert body["created_at"] == created["created_at"]
    assert body["updated_at"] > created["updated_at"]
    assert (await client.get(url, headers=AGENT)).json() == body

    deleted = await client.delete(url, headers=SUPERVISOR)
    assert (deleted.status_code, deleted.content) == (204, b"")
    gone = await client.get(url, headers=AGENT)
    assert gone.status_code == 404 and gone.headers["content-type"] == PROBLEM
    assert (await client.delete(url, headers=SUPERVISOR)).status_code == 404
    assert (await client.patch(url, headers=SUPERVISOR, json={"title": "x"})).status_code == 404


async def test_a_shortcut_is_unique_per_team(gateway: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = gateway
    await create(client, new("hello", team="care"))
    await create(client, new("hello"))  # a global one may share a team's shortcut
    await create(client, new("hello", team="billing"))

    for team in ("care", None):
        again = await client.post(URL, headers=SUPERVISOR, json=new("hello", team=team))
        assert again.status_code == 409, again.text
        assert again.headers["content-type"] == PROBLEM
        assert (again.json()["shortcut"], again.json()["team"]) == ("hello", team)

    # Renaming into a taken shortcut, or moving into a team that has it, conflicts too.
    other = await create(client, new("goodbye", team="care"))
    for change in ({"shortcut": "hello"}, {"team": "billing", "shortcut": "hello"}):
        response = await client.patch(f"{URL}/{other['id']}", headers=SUPERVISOR, json=change)
        assert response.status_code == 409, response.text
    moved = await client.patch(f"{URL}/{other['id']}", headers=SUPERVISOR,
                               json={"team": "billing"})
    assert moved.status_code == 200 and moved.json()["team"] == "billing"
    assert (await client.get(f"{URL}/{other['id']}", headers=AGENT)).json()["shortcut"] == (
        "goodbye")


async def test_an_agent_sees_global_and_their_teams_the_teams_winning(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = gateway
    await create(client, new("greeting"))
    await create(client, new("greeting", team="care"))
    await create(client, new("outage"))
    billing_only = await create(client, new("invoice", team="billing"))

    care = signed_in("agent", ["care"])
    assert await listed(client, care) == [("greeting", "care"), ("outage", None)]
    assert await listed(client, signed_in("agent", ["billing"])) == [
        ("greeting", None), ("invoice", "billing"), ("outage", None)]
    assert await listed(client, signed_in("agent", [])) == [("greeting", None), ("outage", None)]
    # A scoped agent naming another team is offered only the global ones.
    assert await listed(client, care, team="billing") == [("greeting", None), ("outage", None)]
    hidden = await client.get(f"{URL}/{billing_only['id']}", headers=care)
    assert hidden.status_code == 404 and hidden.headers["content-type"] == PROBLEM

    # Supervisors see everything, or what one team's agents are offered.
    assert await listed(client, SUPERVISOR) == [
        ("greeting", None), ("greeting", "care"), ("invoice", "billing"), ("outage", None)]
    assert await listed(client, SUPERVISOR, team="care") == [
        ("greeting", "care"), ("outage", None)]


async def test_search_language_and_limit(gateway: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = gateway
    await create(client, new("refund-delay", title="Refund is LATE", language="en"))
    await create(client, new("rimborso", title="Rimborso", text="Il rimborso è in ritardo",
                             language="it"))
    await create(client, new("shipping", text="Your parcel is 100% on its way", language="en"))

    assert await listed(client, AGENT, q="late") == [("refund-delay", None)]
    assert await listed(client, AGENT, q="RITARDO") == [("rimborso", None)]
    assert await listed(client, AGENT, q="ship") == [("shipping", None)]
    # % and _ match themselves, not anything.
    assert await listed(client, AGENT, q="100%") == [("shipping", None)]
    assert await listed(client, AGENT, q="_") == []
    assert await listed(client, AGENT, language="en") == [("refund-delay", None),
                                                          ("shipping", None)]
    assert await listed(client, AGENT, limit=2) == [("refund-delay", None), ("rimborso", None)]


async def test_render_fills_placeholders_from_the_conversation(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = gateway
    cid = await conversation(app, customer="Ada Lovelace", agent="Bea", channel="messenger")
    canned = await create(client, new("hello", text=(
        "Hi {{customer.name}}, {{ agent.name }} here on {{conversation.channel}}. {single}")))
    response = await client.post(f"{URL}/{canned['id']}/render", headers=AGENT,
                                 json={"conversation_id": str(cid)})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "canned_response_id": canned["id"], "conversation_id": str(cid), "missing": [],
        "text": "Hi Ada Lovelace, Bea here on messenger. {single}"}

    # No agent yet: the placeholder is left empty and reported, so the console can warn.
    db: Database = app.state.contexts["gateway"].db
    waiting, customer_id = uuid.uuid4(), uuid.uuid4()
    await apply(db, [received(waiting, customer_id, T0, author="Cy")])
    response = await client.post(f"{URL}/{canned['id']}/render", headers=AGENT,
                                 json={"conversation_id": str(waiting)})
    assert response.status_code == 200, response.text
    assert (response.json()["text"], response.json()["missing"]) == (
        "Hi Cy,  here on chat. {single}", ["agent.name"])


async def test_render_refuses_unknown_placeholders_and_unknown_conversations(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = gateway
    cid = await conversation(app, team="care")
    typo = await create(client, new("typo", text="Dear {{customer.nmae}} {{ order.id }}"))
    response = await client.post(f"{URL}/{typo['id']}/render", headers=AGENT,
                                 json={"conversation_id": str(cid)})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["unknown"] == ["customer.nmae", "order.id"]

    fine = await create(client, new("fine", text="Hello {{customer.name}}"))
    render = f"{URL}/{fine['id']}/render"
    unknown = await client.post(render, headers=AGENT, json={"conversation_id": str(uuid.uuid4())})
    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
    outsider = await client.post(render, headers=signed_in("agent", ["billing"]),
                                 json={"conversation_id": str(cid)})
    assert outsider.status_code == 404
    insider = await client.post(render, headers=signed_in("agent", ["care"]),
                                json={"conversation_id": str(cid)})
    assert insider.status_code == 200 and insider.json()["text"] == "Hello Ada"
    bad = await client.post(render, headers=AGENT, json={"conversation_id": "nope"})
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("body", [
    new("Upper"), new("-leading"), new("a" * 51), new("ok", title=""), new("ok", title="   "),
    new("ok", title="t" * 121), new("ok", text=""), new("ok", text=" \n\t"),
    new("ok", text="t" * 5_001), new("ok", text="nul \x00 inside"),
    new("ok", text="half \ud800 a pair"), new("ok", language="eng"), new("ok", team=""),
    new("ok", pinned=True), {"shortcut": "ok"}, [],
])
async def test_invalid_bodies_are_422_problems(gateway: tuple[FastAPI, httpx.AsyncClient],
                                               body: Any) -> None:
    _, client = gateway
    # ASCII-escaped by hand: httpx's json= cannot encode an unpaired surrogate, a client may send it.
    response = await client.post(URL, content=json.dumps(body),
                                 headers={**SUPERVISOR, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert await listed(client, SUPERVISOR) == []


async def test_the_longest_fields_are_accepted_and_nulls_cannot_clear_required_ones(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = gateway
    created = await create(client, new("a" + "-" * 49, title="t" * 120, text="x" * 5_000))
    for field in ("shortcut", "title", "text"):
        response = await client.patch(f"{URL}/{created['id']}", headers=SUPERVISOR,
                                      json={field: None})
        assert response.status_code == 422, (field, response.text)


async def test_a_retried_create_with_its_idempotency_key_is_stored_once(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = gateway
    headers = {**SUPERVISOR, "Idempotency-Key": f"canned-{uuid.uuid4()}"}
    first = await client.post(URL, headers=headers, json=new("hello"))
    again = await client.post(URL, headers=headers, json=new("hello"))
    assert first.status_code == 201
    assert (again.status_code, again.json()) == (201, first.json())
    assert await listed(client, SUPERVISOR) == [("hello", None)]


async def test_roles(gateway: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = gateway
    canned = await create(client, new("hello"))
    item = f"{URL}/{canned['id']}"
    assert (await client.get(URL)).status_code == 401
    assert (await client.get(URL, headers=auth("integration"))).status_code == 403
    for method, url, body in (("POST", URL, new("other")), ("PATCH", item, {"title": "x"}),
                              ("DELETE", item, None)):
        refused = await client.request(method, url, headers=AGENT, json=body)
        assert refused.status_code == 403, (method, refused.text)
        assert refused.headers["content-type"] == PROBLEM
    assert await listed(client, AGENT) == [("hello", None)]
    assert (await client.get(item, headers=AGENT)).json()["title"] == "Title of hello"
