"""Scored messages through the in-process bus: routed once each, assignments published."""

from __future__ import annotations

from typing import Any

from sportello.bus.codec import decode, encode
from sportello.bus.memory import InMemoryBus
from sportello.contracts import ConversationAssigned, Envelope
from sportello.topics import CONVERSATIONS_ASSIGNMENT, MESSAGES_SCORED, Groups
from sportello_assignment.component import COMPONENT
from tests.assignment.support import scored
from tests.support.app import auth, running_app
from tests.support.waiting import eventually


async def test_scored_message_is_assigned_once_and_published(fresh_database_url: str) -> None:
    # A fresh database: the only online agent is the one created here.
    async with running_app([COMPONENT], fresh_database_url) as (app, client):
        bus: InMemoryBus = app.state.runtime.bus
        agent = (await client.post(
            "/v1/agents", json={"name": "Lin", "team": "care", "capacity": 2, "presence": "online"},
            headers=auth("supervisor"))).json()
        event = scored(priority=88)
        record = encode(Envelope.wrap(event, source="test", correlation_id="c",
                                      subject=str(event.conversation_id)), MESSAGES_SCORED)
        again = scored(event.conversation_id, event.customer_id, priority=91)
        later = encode(Envelope.wrap(again, source="test", correlation_id="c",
                                     subject=str(event.conversation_id)), MESSAGES_SCORED)

        # The same record twice (a redelivery) and a later message of the same conversation.
        await bus.publish([record, record, later])

        async def consumed() -> bool:
            return bus.committed(Groups.ASSIGNMENT_ROUTER, MESSAGES_SCORED.name) == 3

        def assignments() -> list[Any]:
            return [decode(r, CONVERSATIONS_ASSIGNMENT).data
                    for r in bus.records(CONVERSATIONS_ASSIGNMENT.name)]

        async def published() -> bool:
            return bool(assignments())

        await eventually(consumed)
        await eventually(published)
        [assigned] = assignments()
        assert isinstance(assigned, ConversationAssigned)
        assert assigned.conversation_id == event.conversation_id
        assert str(assigned.agent.id) == agent["id"] and assigned.agent.name == "Lin"
        assert (assigned.reason, assigned.sequence, assigned.priority) == ("new", 1, 88)
        [published_record] = bus.records(CONVERSATIONS_ASSIGNMENT.name)
        assert published_record.key == str(event.conversation_id).encode()

        fetched = await client.get(f"/v1/agents/{agent['id']}", headers=auth("agent"))
        assert fetched.json()["active_count"] == 1
