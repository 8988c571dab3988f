"""Tags: replace, add, remove; normalised and bounded; in the timeline; published only when the
set changes; and the list's tag filter (all given tags must be present)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sportello.bus.codec import decode
from sportello.bus.memory import InMemoryBus
from sportello.contracts import ConversationTagsChanged
from sportello.db import Database
from sportello.topics import CONVERSATIONS_ANNOTATIONS
from sportello_gateway.component import COMPONENT
from tests.gateway.builders import apply, received
from tests.support.app import TOKENS, auth, running_app
from tests.support.waiting import eventually

AGENT = auth("agent")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def gateway(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url) as running:
        yield running


async def conversation(app: FastAPI, at: datetime = T0) -> uuid.UUID:
    cid = uuid.uuid4()
    db: Database = app.state.contexts["gateway"].db
    await apply(db, [received(cid, uuid.uuid4(), at)])
    return cid


def changes(app: FastAPI, conversation_id: uuid.UUID) -> list[ConversationTagsChanged]:
    bus: InMemoryBus = app.state.runtime.bus
    events = [decode(r, CONVERSATIONS_ANNOTATIONS).data
              for r in bus.records(CONVERSATIONS_ANNOTATIONS.name)]
    return [e for e in events
            if isinstance(e, ConversationTagsChanged) and e.conversation_id == conversation_id]


async def test_replace_add_and_remove(gateway: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = gateway
    cid = await conversation(app)
    url = f"/v1/conversations/{cid}/tags"

    put = await client.put(url, headers=AGENT, json={"tags": ["  VIP ", "refund", "vip"]})
    assert put.status_code == 200, put.text
    assert put.json() == {"conversation_id": str(cid), "tags": ["refund", "vip"]}
    added = await client.post(url, headers=AGENT, json={"tags": ["Lost:Parcel", "refund"]})
    assert added.json()["tags"] == ["lost:parcel", "refund", "vip"]
    removed = await client.delete(f"{url}/VIP", headers=AGENT)
    assert removed.status_code == 200 and removed.json()["tags"] == ["lost:parcel", "refund"]
    replaced = await client.put(url, headers=AGENT, json={"tags": ["a_b-c"]})
    assert replaced.json()["tags"] == ["a_b-c"]

    detail = (await client.get(f"/v1/conversations/{cid}", headers=AGENT)).json()
    assert detail["tags"] == ["a_b-c"]
    entries = [e["tags"] for e in detail["timeline"] if e["kind"] == "tags"]
    actor = f"api-key:{TOKENS['agent'][-4:]}"
    assert entries == [
        {"tags": ["refund", "vip"], "added": ["refund", "vip"], "removed": [], "actor": actor},
        {"tags": ["lost:parcel", "refund", "vip"], "added": ["lost:parcel"], "removed": [],
         "actor": actor},
        {"tags": ["lost:parcel", "refund"], "added": [], "removed": ["vip"], "actor": actor},
        {"tags": ["a_b-c"], "added": ["a_b-c"], "removed": ["lost:parcel", "refund"],
         "actor": actor},
    ]
    published = await eventually(lambda: (found := changes(app, cid)) and len(found) == 4
                                 and found)
    assert [(e.tags, e.added, e.removed) for e in published] == [
        (tuple(t["tags"]), tuple(t["added"]), tuple(t["removed"])) for t in entries]


async def test_a_change_that_changes_nothing_records_and_publishes_nothing(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = gateway
    cid = await conversation(app)
    url = f"/v1/conversations/{cid}/tags"
    await client.put(url, headers=AGENT, json={"tags": ["refund"]})
    for request in (client.put(url, headers=AGENT, json={"tags": ["REFUND"]}),
                    client.post(url, headers=AGENT, json={"tags": ["refund"]}),
                    client.delete(f"{url}/absent", headers=AGENT)):
        response = await request
        assert response.status_code == 200 and response.json()["tags"] == ["refund"]
    detail = (await client.get(f"/v1/conversations/{cid}", headers=AGENT)).json()
    assert [e["kind"] for e in detail["timeline"]] == ["message", "tags"]
    await eventually(lambda: changes(app, cid))
    # Relayed in commit order: a later change would already follow the first.
    await client.post(url, headers=AGENT, json={"tags": ["marker"]})
    await eventually(lambda: len(changes(app, cid)) == 2)
    assert [e.added for e in changes(app, cid)] == [("refund",), ("marker",)]


@pytest.mark.parametrize("body", [
    {"tags": ["no spaces"]}, {"tags": ["a" * 51]}, {"tags": [""]}, {"tags": ["   "]},
    {"tags": ["émoji"]}, {"tags": [f"t{i}" for i in range(21)]}, {"tags": "refund"}, {},
    {"tags": ["ok"], "more": 1},
])
async def test_invalid_tags_are_422_problems(gateway: tuple[FastAPI, httpx.AsyncClient],
                                             body: dict[str, Any]) -> None:
    app, client = gateway
    cid = await conversation(app)
    for method in ("PUT", "POST"):
        response = await client.request(method, f"/v1/conversations/{cid}/tags", headers=AGENT,
                                        json=body)
        assert response.status_code == 422, (method, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_at_most_twenty_tags(gateway: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = gateway
    cid = await conversation(app)
    url = f"/v1/conversations/{cid}/tags"
    twenty = [f"t{i:02d}" for i in range(20)]
    assert (await client.put(url, headers=AGENT, json={"tags": twenty})).status_code == 200
    over = await client.post(url, headers=AGENT, json={"tags": ["one-more"]})
    assert over.status_code == 409
    assert over.headers["content-type"] == "application/problem+json"
    # Already there: still twenty, fine.
    assert (await client.post(url, headers=AGENT, json={"tags": ["t00"]})).status_code == 200
    detail = (await client.get(f"/v1/conversations/{cid}", headers=AGENT)).json()
    assert detail["tags"] == twenty


async def test_errors_unknown_conversation_and_auth(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = gateway
    cid = await conversation(app)
    bad = await client.delete(f"/v1/conversations/{cid}/tags/not%20a%20tag", headers=AGENT)
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    unknown = uuid.uuid4()
    for method, path, body in (("PUT", "tags", {"tags": ["a"]}), ("POST", "tags", {"tags": ["a"]}),
                               ("DELETE", "tags/a", None)):
        url = f"/v1/conversations/{unknown}/{path}"
        response = await client.request(method, url, headers=AGENT, json=body)
        assert response.status_code == 404, (method, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        url = f"/v1/conversations/{cid}/{path}"
        assert (await client.request(method, url, json=body)).status_code == 401
        forbidden = await client.request(method, url, json=body, headers=auth("integration"))
        assert forbidden.status_code == 403


async def test_concurrent_additions_lose_nothing(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = gateway
    cid = await conversation(app)
    url = f"/v1/conversations/{cid}/tags"
    responses = await asyncio.gather(*(client.post(url, headers=AGENT, json={"tags": [f"t{i}"]})
                                       for i in range(6)))
    assert all(r.status_code == 200 for r in responses)
    detail = (await client.get(f"/v1/conversations/{cid}", headers=AGENT)).json()
    assert detail["tags"] == [f"t{i}" for i in range(6)]


async def test_the_list_filters_on_all_the_given_tags(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = gateway
    # The database is shared with other tests: tags of this run only.
    run = uuid.uuid4().hex[:8]
    refund, vip, late = f"refund-{run}", f"vip-{run}", f"late-{run}"
    tagged = {
        "refund+vip": [refund, vip], "refund": [refund], "vip": [vip], "none": [],
        "refund+vip+late": [refund, vip, late],
    }
    ids: dict[str, str] = {}
    for offset, (name, tags) in enumerate(tagged.items()):
        cid = await conversation(app, T0 + timedelta(minutes=offset))
        ids[name] = str(cid)
        await client.put(f"/v1/conversations/{cid}/tags", headers=AGENT, json={"tags": tags})

    async def listed(*tags: str) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"tag": list(tags), "limit": 1, "sort": "last_message_at",
                                      **({"cursor": cursor} if cursor else {})}
            response = await client.get("/v1/conversations", params=params, headers=AGENT)
            assert response.status_code == 200, response.text
            seen += [item["id"] for item in response.json()["items"]]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return seen

    newest_first = list(reversed(ids))
    assert await listed(refund) == [ids[n] for n in newest_first if "refund" in n]
    assert await listed(vip.upper(), refund) == [ids[n] for n in newest_first
                                                 if "refund" in n and "vip" in n]
    assert await listed(late, vip, refund) == [ids["refund+vip+late"]]
    assert await listed(f"unknown-{run}") == []
