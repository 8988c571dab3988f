"""The gateway shows priority as conversation.prioritised explains it: the newest change wins
whatever the arrival order, with its breakdown, SLA clock and the customer's sentiment trajectory."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from sportello.contracts import Event
from sportello_gateway.component import COMPONENT
from tests.gateway.builders import prioritised, publish, received, scored
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_newest_priority_change_wins_and_the_detail_explains_it(database_url: str) -> None:
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    angry = received(conversation_id, customer_id, T0, text="this is a disgrace")
    happy = received(conversation_id, customer_id, T0 + timedelta(minutes=1), text="thanks!")
    moods = [(angry.message_id, "negative", -0.9), (happy.message_id, "positive", 0.8)]
    events: list[Event] = [
        angry, happy,
        prioritised(conversation_id, customer_id, 1, priority=40, at=T0, moods=moods[:1]),
        prioritised(conversation_id, customer_id, 3, priority=72, at=T0, stage="breached",
                    moods=moods),
        prioritised(conversation_id, customer_id, 2, priority=55, at=T0, moods=moods[:1]),
        # A message score's conversation_priority no longer moves a prioritised conversation.
        scored(happy, score=90, conversation_priority=90, label="positive", sentiment=0.8),
    ]
    random.Random(7).shuffle(events)
    async with running_app([COMPONENT], database_url) as (app, client):
        await publish(app, events)

        async def detail() -> dict | None:
            response = await client.get(f"/v1/conversations/{conversation_id}",
                                        headers=auth("agent"))
            body = response.json() if response.status_code == 200 else None
            # Everything applied: both messages, the score, and a priority change.
            done = (body and body["message_count"] == 2 and body["priority_band"] is not None
                    and body["messages"][1]["score"] is not None and body["priority"] == 72)
            return body if done else None

        # Never met if the score's 90 (or a stale change) overwrote the newest change.
        body = await eventually(detail)
    assert body["sla"]["stage"] == "breached" and body["sla"]["kind"] == "first_response"
    assert [f["reason"] for f in body["priority_breakdown"]] == ["base", "sequence 3"]
    trajectory = body["sentiment_trajectory"]
    assert trajectory["first"]["label"] == "negative" and trajectory["last"]["label"] == "positive"
    assert trajectory["minimum"]["message_id"] == str(angry.message_id)
    assert [(t["from_label"], t["to_label"]) for t in trajectory["transitions"]] == [
        ("negative", "positive")]
