"""Seeding agents from SPORTELLO_ASSIGNMENT_SEED_AGENTS at start."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from sportello_assignment.component import COMPONENT
from tests.support.app import auth, running_app

SEED = [{"name": "Ada", "team": "care", "capacity": 2, "presence": "online"},
        {"name": "Bo", "team": "sales", "capacity": 1, "presence": "away"}]


async def test_seed_agents_at_start_once(fresh_database_url: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPORTELLO_ASSIGNMENT_SEED_AGENTS", json.dumps(SEED))
    async with running_app([COMPONENT], fresh_database_url) as (_, client):
        agents = (await client.get("/v1/agents", headers=auth("agent"))).json()
        assert [(a["name"], a["team"], a["capacity"], a["presence"]) for a in agents] == \
            [("Ada", "care", 2, "online"), ("Bo", "sales", 1, "away")]
        await client.patch(f"/v1/agents/{agents[0]['id']}", json={"capacity": 9},
                           headers=auth("supervisor"))

    async with running_app([COMPONENT], fresh_database_url) as (_, client):  # a restart
        agents = (await client.get("/v1/agents", headers=auth("agent"))).json()
        assert [(a["name"], a["capacity"]) for a in agents] == [("Ada", 9), ("Bo", 1)]


async def test_invalid_seed_fails_the_start(fresh_database_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPORTELLO_ASSIGNMENT_SEED_AGENTS",
                       json.dumps([{"name": "Ada", "team": "care", "capacity": 0,
                                    "presence": "online"}]))
    with pytest.raises(ValidationError):
        async with running_app([COMPONENT], fresh_database_url):
            pass
