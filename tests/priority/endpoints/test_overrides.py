"""A supervisor's override through the API: pins the priority (announced at once, explained),
survives new messages, ends when cleared or expired; refusals are problems."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from sportello.bus.memory import InMemoryBus
from sportello.contracts import ConversationPrioritised
from sportello_priority.component import COMPONENT
from sportello_priority.repository import OVERRIDE_EXPIRY, ScoreRepository
from sportello_priority.tables import checkpoints
from tests.priority.support import latest, priorities, publish, received, scores
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

FAST = dict(sla_tick_seconds=0.05, config_cache_seconds=0)
PIN = {"priority": 97, "reason": "journalist at a national paper"}


def _factors(event: ConversationPrioritised) -> dict[str, float]:
    return {f.factor: f.contribution for f in event.breakdown}


def _with_reason(bus: InMemoryBus, conversation: uuid.UUID,
                 reason: str) -> ConversationPrioritised | None:
    found = [p for p in priorities(bus, conversation) if p.reason == reason]
    return found[-1] if found else None


async def test_an_override_pins_the_priority_through_new_messages_until_cleared(
        database_url: str) -> None:
    conversation = uuid.uuid4()
    async with running_app([COMPONENT], database_url, **FAST) as (app, client):
        bus = app.state.runtime.bus
        await publish(bus, received(conversation, "Hi, a quick question about my plan"))
        model = await eventually(lambda: latest(bus, conversation))
        put = await client.put(f"/v1/priority/conversations/{conversation}/override", json=PIN,
                               headers=auth("supervisor"))
        assert put.status_code == 200, put.text
        pinned = await eventually(lambda: _with_reason(bus, conversation, "overridden"))
        shown = await client.get(f"/v1/priority/conversations/{conversation}/override",
                                 headers=auth("agent"))
        follow_up = received(conversation, "thanks, still waiting")
        await publish(bus, follow_up)
        scored = await eventually(
            lambda: [s for s in scores(bus, conversation) if s.message_id == follow_up.message_id])
        after_message = latest(bus, conversation)
        cleared = await client.delete(f"/v1/priority/conversations/{conversation}/override",
                                      headers=auth("supervisor"))
        back = await eventually(lambda: _with_reason(bus, conversation, "override_cleared"))
        gone = await client.get(f"/v1/priority/conversations/{conversation}/override",
                                headers=auth("agent"))
        again = await client.delete(f"/v1/priority/conversations/{conversation}/override",
                                    headers=auth("supervisor"))

    assert model.priority < 97 and "override" not in _factors(model)
    set_by = put.json()["set_by"]
    assert set_by.startswith("supervisor:") and put.json()["priority"] == 97
    # Pinned, explained, and the model's own factors still there beside the override.
    assert pinned.priority == 97 and pinned.band == "urgent"
    line = next(f for f in pinned.breakdown if f.factor == "override")
    assert "journalist at a national paper" in line.reason and set_by in line.reason
    assert {"base", "sentiment", "urgency", "intent", "influence", "sla"} <= set(_factors(pinned))
    assert sum(_factors(pinned).values()) == pytest.approx(97, abs=0.01)
    assert shown.status_code == 200 and shown.json()["reason"] == PIN["reason"]
    # A new message is scored by the model, but the conversation keeps the pin.
    assert scored[0].conversation_priority == 97
    assert after_message is not None and after_message.reason == "message_scored"
    assert after_message.priority == 97
    # Cleared: the model's priority again, announced at once.
    assert cleared.status_code == 204
    assert "override" not in _factors(back)
    model_now = sum(v for k, v in _factors(after_message).items() if k != "override")
    # (Only the SLA factor may have moved meanwhile, by far less than a point.)
    assert back.priority == pytest.approx(model_now, abs=1.0)
    assert back.sequence > after_message.sequence
    assert gone.status_code == 404
    assert gone.headers["content-type"].startswith("application/problem+json")
    assert again.status_code == 404


async def test_an_override_ends_by_itself_when_it_expires(database_url: str) -> None:
    conversation = uuid.uuid4()
    async with running_app([COMPONENT], database_url, **FAST) as (app, client):
        bus = app.state.runtime.bus
        await publish(bus, received(conversation, "Hi, a quick question about my plan"))
        await eventually(lambda: latest(bus, conversation))
        soon = datetime.now(UTC) + timedelta(seconds=1)
        put = await client.put(f"/v1/priority/conversations/{conversation}/override",
                               json={**PIN, "priority": 5, "expires_at": soon.isoformat()},
                               headers=auth("supervisor"))
        assert put.status_code == 200, put.text
        pinned = await eventually(lambda: _with_reason(bus, conversation, "overridden"))
        # The ticker recomputes at the end, which drops the override.
        ended = await eventually(lambda: _with_reason(bus, conversation, "override_cleared"),
                                 timeout=15)
        shown = await client.get(f"/v1/priority/conversations/{conversation}/override",
                                 headers=auth("agent"))
        async with app.state.contexts["priority"].db.transaction() as tx:
            stored = await ScoreRepository(tx.session).override(conversation)
    assert pinned.priority == 5
    assert "until" in next(f.reason for f in pinned.breakdown if f.factor == "override")
    assert "override" not in _factors(ended) and ended.priority > 5
    assert shown.status_code == 404
    assert stored is None


async def test_replacing_an_override_moves_its_end(database_url: str) -> None:
    conversation = uuid.uuid4()
    url = f"/v1/priority/conversations/{conversation}/override"
    hour, two_hours = (datetime.now(UTC) + timedelta(hours=h) for h in (1, 2))

    async def expiry() -> list[datetime]:
        async with app.state.contexts["priority"].db.transaction() as tx:
            rows = await tx.session.execute(
                select(checkpoints.c.due_at).where(checkpoints.c.conversation_id == conversation,
                                                   checkpoints.c.stage == OVERRIDE_EXPIRY))
            return list(rows.scalars())

    async with running_app([COMPONENT], database_url, **FAST) as (app, client):
        bus = app.state.runtime.bus
        await publish(bus, received(conversation, "Hi, a quick question about my plan"))
        await eventually(lambda: latest(bus, conversation))
        await client.put(url, json={**PIN, "expires_at": hour.isoformat()},
                         headers=auth("supervisor"))
        first = await expiry()
        await client.put(url, json={**PIN, "expires_at": two_hours.isoformat()},
                         headers=auth("supervisor"))
        later = await expiry()
        await client.put(url, json={**PIN, "priority": 80}, headers=auth("supervisor"))
        never = await expiry()
        shown = await client.get(url, headers=auth("agent"))
    # Exactly at the override's end: an earlier end left behind would clear the new one early.
    assert first == [hour] and later == [two_hours] and never == []
    assert shown.json()["priority"] == 80 and shown.json()["expires_at"] is None


@pytest.mark.parametrize("body", [
    {**PIN, "priority": 101},
    {**PIN, "priority": -1},
    {**PIN, "reason": ""},
    {**PIN, "reason": "   "},
    {**PIN, "reason": "x" * 501},
    {"priority": 50},
    {**PIN, "expires_at": "2099-01-01T00:00:00"},  # no time zone
    {**PIN, "expires_at": "2020-01-01T00:00:00Z"},  # over already
    {**PIN, "by": "someone"},
])
async def test_bad_overrides_are_refused_with_a_problem(database_url: str,
                                                        body: dict[str, object]) -> None:
    async with running_app([COMPONENT], database_url) as (_, client):
        response = await client.put(f"/v1/priority/conversations/{uuid.uuid4()}/override",
                                    json=body, headers=auth("supervisor"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_overrides_need_a_supervisor_and_a_known_conversation(database_url: str) -> None:
    url = f"/v1/priority/conversations/{uuid.uuid4()}/override"
    async with running_app([COMPONENT], database_url) as (_, client):
        anonymous = await client.put(url, json=PIN)
        by_agent = await client.put(url, json=PIN, headers=auth("agent"))
        cleared_by_agent = await client.delete(url, headers=auth("agent"))
        read_by_integration = await client.get(url, headers=auth("integration"))
        unknown = await client.put(url, json=PIN, headers=auth("supervisor"))
        none_to_clear = await client.delete(url, headers=auth("supervisor"))
        none_to_show = await client.get(url, headers=auth("agent"))
        bad_id = await client.get("/v1/priority/conversations/not-a-uuid/override",
                                  headers=auth("agent"))
    assert anonymous.status_code == 401
    assert by_agent.status_code == 403 and cleared_by_agent.status_code == 403
    assert read_by_integration.status_code == 403
    assert unknown.status_code == 404 and "never seen" in unknown.json()["detail"]
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert none_to_clear.status_code == 404 and none_to_show.status_code == 404
    assert bad_id.status_code == 422
