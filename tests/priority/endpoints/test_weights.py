"""Weights through the API: validated, applied to new messages at once, and to open conversations
in their profile's scope through the ticker."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from sportello.contracts import AgentRef, ConversationAssigned
from sportello_priority.component import COMPONENT
from tests.priority.support import latest, priorities, publish, received, scores
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

FAST = dict(sla_tick_seconds=0.05, config_cache_seconds=0)
ONLY_SENTIMENT = {"base": 10, "sentiment": 90, "urgency": 0, "intent": 0, "influence": 0, "sla": 0}


async def test_a_brand_profile_reweighs_its_open_conversations_and_new_messages(
        database_url: str) -> None:
    brand = f"x:{uuid.uuid4().hex[:8]}"
    ours, other = uuid.uuid4(), uuid.uuid4()
    async with running_app([COMPONENT], database_url, **FAST) as (app, client):
        bus = app.state.runtime.bus
        await publish(bus, received(ours, "Terrible, awful service", account=brand),
                      received(other, "Terrible, awful service", account="x:someone-else"))
        await eventually(lambda: latest(bus, ours) and latest(bus, other))
        response = await client.put(f"/v1/priority/weights/brand:{brand}", json=ONLY_SENTIMENT,
                                    headers=auth("supervisor"))
        assert response.status_code == 200, response.text
        assert response.json()["conversations_to_recompute"] == 1
        assert response.json()["updated_by"].startswith("supervisor:")
        reweighed = await eventually(
            lambda: (p := latest(bus, ours)) and p.reason == "weights_changed" and p)
        follow_up = received(ours, "Still terrible", account=brand)
        await publish(bus, follow_up)
        scored = await eventually(
            lambda: [s for s in scores(bus, ours) if s.message_id == follow_up.message_id])
        listed = (await client.get("/v1/priority/weights", headers=auth("agent"))).json()
    assert reweighed.weights_profile == f"brand:{brand}"
    weights = {f.factor: f.weight for f in reweighed.breakdown}
    assert weights == {"base": 10, "sentiment": 90, "urgency": 0, "intent": 0, "influence": 0,
                       "sla": 0}
    sentiment = {f.factor: f for f in reweighed.breakdown}["sentiment"]
    assert reweighed.priority == round(10 + sentiment.contribution, 2)
    assert {f.factor: f.weight for f in scored[0].breakdown}["sentiment"] == 90
    # The other brand's conversation keeps the default profile.
    assert latest(bus, other).weights_profile == "default"  # type: ignore[union-attr]
    assert [p["name"] for p in listed][:1] == ["default"]
    assert f"brand:{brand}" in [p["name"] for p in listed]


@pytest.mark.parametrize(("name", "body", "detail"), [
    ("default", {**ONLY_SENTIMENT, "urgency": 5}, "at most 100"),
    ("default", {**ONLY_SENTIMENT, "sentiment": -1}, "greater than or equal"),
    ("default", {**ONLY_SENTIMENT, "mood": 3}, "Extra inputs"),
    ("region:emea", ONLY_SENTIMENT, "not a profile name"),
])
async def test_bad_weights_are_refused_with_a_problem(database_url: str, name: str,
                                                      body: dict[str, float], detail: str) -> None:
    async with running_app([COMPONENT], database_url) as (_, client):
        response = await client.put(f"/v1/priority/weights/{name}", json=body,
                                    headers=auth("supervisor"))
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert detail in response.text


async def test_weights_need_a_supervisor_to_change_and_an_agent_to_read(database_url: str) -> None:
    async with running_app([COMPONENT], database_url) as (_, client):
        assert (await client.get("/v1/priority/weights")).status_code == 401
        assert (await client.get("/v1/priority/weights",
                                 headers=auth("integration"))).status_code == 403
        assert (await client.put("/v1/priority/weights/default", json=ONLY_SENTIMENT,
                                 headers=auth("agent"))).status_code == 403
        assert (await client.delete("/v1/priority/weights/team:none",
                                    headers=auth("agent"))).status_code == 403
        assert (await client.delete("/v1/priority/weights/team:none",
                                    headers=auth("supervisor"))).status_code == 404


async def test_a_team_profile_applies_once_the_conversation_is_assigned_to_that_team(
        database_url: str) -> None:
    team = f"billing-{uuid.uuid4().hex[:6]}"
    to_team, to_other = uuid.uuid4(), uuid.uuid4()
    async with running_app([COMPONENT], database_url, **FAST) as (app, client):
        bus = app.state.runtime.bus
        response = await client.put(f"/v1/priority/weights/team:{team}", json=ONLY_SENTIMENT,
                                    headers=auth("supervisor"))
        assert response.status_code == 200, response.text
        messages = [received(to_team, "Awful, awful service"),
                    received(to_other, "Awful, awful service")]
        await publish(bus, *messages)
        await eventually(lambda: latest(bus, to_team) and latest(bus, to_other))
        await publish(bus, *(ConversationAssigned(
            conversation_id=m.conversation_id, customer_id=m.customer_id,
            agent=AgentRef(id=uuid.uuid4(), name="Bea", team=name), reason="new", priority=0,
            sequence=1, assigned_at=datetime.now(UTC)) for m, name in zip(
                messages, (team, f"other-{uuid.uuid4().hex[:6]}"), strict=True)))
        reweighed = await eventually(
            lambda: (p := latest(bus, to_team)) and p.reason == "weights_changed" and p)
        await asyncio.sleep(0.3)  # room for a needless recomputation of the other one
    assert reweighed.weights_profile == f"team:{team}"
    # A team without its own profile changes nothing, so nothing is recomputed.
    assert [p.reason for p in priorities(bus, to_other)] == ["message_scored"]
