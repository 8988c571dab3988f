"""Agents' corrections: stored with the text as training labels, and the trajectory follows them."""

from __future__ import annotations

import uuid

from sportello_priority.component import COMPONENT
from tests.priority.support import latest, publish, received, scores
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

FAST = dict(sla_tick_seconds=0.05, config_cache_seconds=0)


async def test_a_correction_becomes_a_label_and_rewrites_the_trajectory(database_url: str) -> None:
    conversation = uuid.uuid4()
    # Sarcasm a model may well read as positive.
    message = received(conversation, "Oh great, my bag is lost again. Wonderful job, thanks a lot.")
    async with running_app([COMPONENT], database_url, **FAST) as (app, client):
        bus = app.state.runtime.bus
        await publish(bus, message)
        await eventually(lambda: scores(bus, conversation) and latest(bus, conversation))
        explained = await client.get(f"/v1/priority/messages/{message.message_id}",
                                     headers=auth("agent"))
        corrected = await client.put(f"/v1/priority/messages/{message.message_id}/labels",
                                     json={"sentiment": "negative", "intent": "complaint"},
                                     headers=auth("agent"))
        after = await eventually(
            lambda: (p := latest(bus, conversation)) and p.reason == "correction" and p)
        again = await client.put(f"/v1/priority/messages/{message.message_id}/labels",
                                 json={"intent": "legal_threat"}, headers=auth("agent"))
        page = await client.get("/v1/priority/labels", params={"limit": 1000},
                                headers=auth("admin"))
        agent_export = await client.get("/v1/priority/labels", headers=auth("agent"))
    assert explained.status_code == 200
    body = explained.json()
    assert abs(sum(body["probabilities"].values()) - 1) < 1e-3
    assert {f["factor"] for f in body["breakdown"]} >= {"sentiment", "urgency", "intent"}
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["text"] == message.text and corrected.json()["revision"] == 1
    assert after.trajectory is not None and after.trajectory.last.label == "negative"
    # A later correction of the intent alone keeps the sentiment already given.
    assert again.json()["sentiment"] == "negative" and again.json()["intent"] == "legal_threat"
    assert again.json()["revision"] == 2
    mine = [item for item in page.json()["items"] if item["message_id"] == str(message.message_id)]
    assert mine and mine[0]["sentiment"] == "negative"
    assert agent_export.status_code == 403


async def test_corrections_are_checked(database_url: str) -> None:
    async with running_app([COMPONENT], database_url) as (_, client):
        unknown = await client.put(f"/v1/priority/messages/{uuid.uuid4()}/labels",
                                   json={"sentiment": "negative"}, headers=auth("agent"))
        empty = await client.put(f"/v1/priority/messages/{uuid.uuid4()}/labels", json={},
                                 headers=auth("agent"))
        wrong = await client.put(f"/v1/priority/messages/{uuid.uuid4()}/labels",
                                 json={"sentiment": "furious"}, headers=auth("agent"))
        anonymous = await client.put(f"/v1/priority/messages/{uuid.uuid4()}/labels",
                                     json={"sentiment": "negative"})
    assert unknown.status_code == 404
    assert empty.status_code == 400 and "sentiment, intent, or both" in empty.text
    assert wrong.status_code == 422
    assert anonymous.status_code == 401
