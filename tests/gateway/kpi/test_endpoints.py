"""The KPI routes over HTTP: roles, validation problems, the report, CSAT and the CSV export."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from sportello.db import Database
from sportello_gateway.component import COMPONENT
from tests.gateway.builders import publish
from tests.gateway.kpi import dataset
from tests.gateway.kpi.dataset import DAY
from tests.gateway.kpi.support import apply_kpi, presence
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

SUPERVISOR, AGENT, INTEGRATION = auth("supervisor"), auth("agent"), auth("integration")
PERIOD = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}


@pytest.fixture
async def app(fresh_database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], fresh_database_url) as running:
        yield running


def gateway_db(app: FastAPI) -> Database:
    db: Database = app.state.contexts["gateway"].db
    return db


async def test_roles(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    conversation = f"/v1/conversations/{uuid.uuid4()}/csat"
    for path in ("/v1/kpis/report", "/v1/kpis/conversations.csv"):
        assert (await client.get(path, params=PERIOD)).status_code == 401
        assert (await client.get(path, params=PERIOD, headers=AGENT)).status_code == 403
        assert (await client.get(path, params=PERIOD, headers=INTEGRATION)).status_code == 403
        assert (await client.get(path, params=PERIOD, headers=SUPERVISOR)).status_code == 200
    unauthenticated = await client.post(conversation, json={"score": 4})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["content-type"] == "application/problem+json"
    # Agents and integrations may answer; the conversation is unknown, so past auth it is 404.
    for role in (AGENT, INTEGRATION, SUPERVISOR):
        assert (await client.post(conversation, json={"score": 4}, headers=role)).status_code == 404


@pytest.mark.parametrize(("params", "status"), [
    ({"from": PERIOD["to"], "to": PERIOD["from"]}, 400),  # from after to
    ({"from": PERIOD["from"], "to": PERIOD["from"]}, 400),  # empty period
    ({"from": DAY.isoformat(), "to": (DAY + timedelta(days=367)).isoformat()}, 400),
    ({"to": PERIOD["to"]}, 422),  # from missing
    ({"from": "2026-03-02T00:00:00", "to": PERIOD["to"]}, 422),  # no offset
    ({**PERIOD, "agent": "not-a-uuid"}, 422),
    ({**PERIOD, "team": "t" * 201}, 422),
])
async def test_bad_queries_are_problems(app: tuple[FastAPI, httpx.AsyncClient],
                                        params: dict[str, str], status: int) -> None:
    _, client = app
    for path in ("/v1/kpis/report", "/v1/kpis/conversations.csv"):
        response = await client.get(path, params=params, headers=SUPERVISOR)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == status


async def test_unknown_group_by_is_a_problem(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    response = await client.get("/v1/kpis/report", params={**PERIOD, "group_by": "customer"},
                                headers=SUPERVISOR)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_year_is_allowed(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    params = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=366)).isoformat()}
    response = await client.get("/v1/kpis/report", params=params, headers=SUPERVISOR)
    assert response.status_code == 200
    assert response.json()["totals"]["conversations"]["opened"] == 0


async def test_report_and_csat_over_http(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    running, client = app
    data = dataset.build()
    await apply_kpi(gateway_db(running), data.events)
    c6 = data.ids["C6"]

    bad = await client.post(f"/v1/conversations/{c6}/csat", json={"score": 6}, headers=AGENT)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    first = await client.post(f"/v1/conversations/{c6}/csat", json={"score": 1},
                              headers=INTEGRATION)
    assert first.status_code == 200
    second = await client.post(f"/v1/conversations/{c6}/csat",
                               json={"score": 4, "comment": "quick"}, headers=AGENT)
    assert second.status_code == 200
    assert second.json()["score"] == 4 and second.json()["comment"] == "quick"

    response = await client.get("/v1/kpis/report", params={**PERIOD, "group_by": "team"},
                                headers=SUPERVISOR)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["group_by"]) == ("2026-03-02T00:00:00Z", "team")
    # The answer replaced the first one and counts at C6's resolution hour (11:00).
    assert body["totals"]["csat"]["count"] == 1
    assert body["totals"]["csat"]["distribution"]["4"] == 1
    assert body["totals"]["conversations"]["opened"] == 6
    assert body["totals"]["first_response"]["count"] == 5
    teams = {group["key"]: group["kpis"] for group in body["groups"]}
    assert teams["tech"]["csat"]["average"] == 4.0  # C6 is Bob's, team tech
    assert {key: kpis["conversations"]["opened"] for key, kpis in teams.items()} == {
        "billing": 3, "tech": 3}


async def test_csv_export(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    running, client = app
    data = dataset.build()
    await apply_kpi(gateway_db(running), data.events)
    c3 = data.ids["C3"]
    await client.post(f"/v1/conversations/{c3}/csat",
                      json={"score": 2, "comment": '=HYPERLINK("http://evil")'}, headers=AGENT)

    async with client.stream("GET", "/v1/kpis/conversations.csv",
                             params={**PERIOD, "channel": "chat"}, headers=SUPERVISOR) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        text = "".join([chunk async for chunk in response.aiter_text()])

    rows = list(csv.DictReader(io.StringIO(text)))
    # Opened in the day on chat, oldest first: C1 and C5 at 09:00 (id order), C3, C6.
    assert sorted(row["conversation_id"] for row in rows[:2]) == sorted(
        str(data.ids[name]) for name in ("C1", "C5"))
    assert [row["conversation_id"] for row in rows[2:]] == [str(c3), str(data.ids["C6"])]
    c3_row = rows[2]
    assert c3_row["csat_comment"] == "'=HYPERLINK(\"http://evil\")"
    assert c3_row["csat_score"] == "2"
    assert c3_row["first_response_seconds"] == "2700.0"
    assert c3_row["next_response_count"] == "1"
    assert c3_row["reopen_count"] == "1"
    assert c3_row["resolution_seconds"] == "5700.0"
    assert c3_row["team"] == "tech"
    assert c3_row["status"] == "resolved"


async def test_presence_over_the_bus_reaches_the_report(
        app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    """The KPI group subscribes to the presence topic; a repeated change counts once."""
    running, client = app
    agent = uuid.uuid4()
    changes = [presence(agent, 1, "online", dataset.at(9), capacity=4),
               presence(agent, 2, "offline", dataset.at(10), capacity=4)]
    await publish(running, changes + changes)

    async def online() -> dict[str, float] | None:
        response = await client.get("/v1/kpis/report", params={**PERIOD, "agent": str(agent)},
                                    headers=SUPERVISOR)
        agents: dict[str, float] = response.json()["totals"]["agents"]
        # Until the offline change is in, the interval runs on to the period's end.
        return agents if agents["online_seconds"] == 3600 else None

    agents = await eventually(online)
    assert agents == {"concurrency_seconds": 0.0, "average_concurrency": 0.0,
                      "online_seconds": 3600.0, "average_online_agents": 3600 / 86400,
                      "capacity_seconds": 14400.0, "utilisation": 0.0}
