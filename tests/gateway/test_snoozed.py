"""Snoozed conversations in the read model: their own status in the list filters, the time they
wake in the detail, and the snooze and the wake-up in the timeline, whatever the arrival order."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sportello.contracts import Event
from sportello_gateway.component import COMPONENT
from tests.gateway.builders import apply, assigned, received, status_changed
from tests.gateway.test_timeline import gateway_db
from tests.support.app import auth, running_app

AGENT = auth("agent")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
WAKE = T0 + timedelta(days=1)


@pytest.fixture
async def gateway(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url) as running:
        yield running


def snoozed_story(cid: uuid.UUID, customer: uuid.UUID, agent: uuid.UUID) -> list[Event]:
    return [
        received(cid, customer, T0, text="where is my refund?"),
        assigned(cid, customer, 1, agent_id=agent, name="Bea", team="care", at=T0 + MINUTE),
        status_changed(cid, customer, 1, "snoozed", at=T0 + 2 * MINUTE, snoozed_until=WAKE),
    ]


async def listed(client: httpx.AsyncClient, status: str, customer: uuid.UUID) -> list[dict[str, Any]]:
    response = await client.get("/v1/conversations", params={"status": status, "limit": 200},
                                headers=AGENT)
    assert response.status_code == 200, response.text
    return [c for c in response.json()["items"] if c["customer"]["id"] == str(customer)]


async def test_a_snoozed_conversation_leaves_the_open_inbox_and_shows_when_it_wakes(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = gateway
    cid, customer, agent = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await apply(gateway_db(app), snoozed_story(cid, customer, agent))
    assert await listed(client, "open", customer) == []
    [snoozed] = await listed(client, "snoozed", customer)
    assert snoozed["status"] == "snoozed"
    assert datetime.fromisoformat(snoozed["snoozed_until"]) == WAKE
    assert snoozed["assignment"]["agent"]["id"] == str(agent)  # it keeps its owner

    detail = (await client.get(f"/v1/conversations/{cid}", headers=AGENT)).json()
    status_entries = [e["status"] for e in detail["timeline"] if e["kind"] == "status"]
    assert status_entries == [{"action": "snoozed", "reason": "snoozed", "by": "agent",
                               "snoozed_until": WAKE.isoformat().replace("+00:00", "Z")}]


@pytest.mark.parametrize("reason, by", [("snooze_ended", None), ("unsnoozed_by_customer", "customer"),
                                        ("unsnoozed_by_agent", "agent")])
async def test_waking_opens_it_again_whatever_the_arrival_order(
    gateway: tuple[FastAPI, httpx.AsyncClient], reason: str, by: str | None,
) -> None:
    app, client = gateway
    rng = random.Random(reason)
    for _ in range(3):
        cid, customer, agent = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        events = [*snoozed_story(cid, customer, agent),
                  status_changed(cid, customer, 2, "open", at=WAKE, reason=reason)]
        await apply(gateway_db(app), rng.sample(events, len(events)))
        [woken] = await listed(client, "open", customer)
        assert woken["snoozed_until"] is None and woken["resolved_at"] is None
        assert await listed(client, "snoozed", customer) == []
        detail = (await client.get(f"/v1/conversations/{cid}", headers=AGENT)).json()
        actions = [(e["status"]["action"], e["status"]["by"]) for e in detail["timeline"]
                   if e["kind"] == "status"]
        assert actions == [("snoozed", "agent"), ("unsnoozed", by)]


async def test_the_status_filter_refuses_an_unknown_status(
    gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = gateway
    response = await client.get("/v1/conversations", params={"status": "sleeping"}, headers=AGENT)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
