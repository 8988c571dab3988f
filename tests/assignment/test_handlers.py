"""Through the in-process bus: scored messages routed once each and assignments published; status
changes snooze and wake; agents' presence published on its own topic, keyed by agent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sportello.bus.codec import decode, encode
from sportello.bus.memory import InMemoryBus
from sportello.contracts import (
    AgentPresenceChanged,
    ConversationAssigned,
    ConversationStatusChanged,
    Envelope,
)
from sportello.topics import (
    AGENTS_PRESENCE,
    CONVERSATIONS_ACTIVITY,
    CONVERSATIONS_ASSIGNMENT,
    MESSAGES_SCORED,
    Groups,
)
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


async def test_snooze_and_wake_from_the_bus_and_presence_published(fresh_database_url: str) -> None:
    async with running_app([COMPONENT], fresh_database_url) as (app, client):
        bus: InMemoryBus = app.state.runtime.bus
        agent = (await client.post(
            "/v1/agents", json={"name": "Mo", "team": "care", "capacity": 1, "presence": "online"},
            headers=auth("supervisor"))).json()
        await client.patch(f"/v1/agents/{agent['id']}", json={"presence": "away"},
                           headers=auth("agent"))
        await client.patch(f"/v1/agents/{agent['id']}", json={"presence": "online"},
                           headers=auth("agent"))
        event = scored()

        def status(value: str, reason: str, sequence: int) -> Any:
            changed = ConversationStatusChanged(
                conversation_id=event.conversation_id, customer_id=event.customer_id,
                status=value, reason=reason, sequence=sequence, at=datetime.now(UTC))  # type: ignore[arg-type]
            return encode(Envelope.wrap(changed, source="test", correlation_id="c",
                                        subject=str(event.conversation_id)),
                          CONVERSATIONS_ACTIVITY)

        async def owner_load() -> int:
            got = await client.get(f"/v1/agents/{agent['id']}", headers=auth("agent"))
            return int(got.json()["active_count"])

        await bus.publish([encode(Envelope.wrap(event, source="test", correlation_id="c",
                                                subject=str(event.conversation_id)),
                                  MESSAGES_SCORED)])
        await eventually(lambda: _is(owner_load, 1))
        await bus.publish([status("snoozed", "snoozed", 1)])
        await eventually(lambda: _is(owner_load, 0))
        await bus.publish([status("open", "snooze_ended", 2)])
        await eventually(lambda: _is(owner_load, 1))

        async def presence_published() -> bool:
            return len(bus.records(AGENTS_PRESENCE.name)) == 3

        await eventually(presence_published)
        records = bus.records(AGENTS_PRESENCE.name)
        assert {r.key for r in records} == {agent["id"].encode()}
        changes = [decode(r, AGENTS_PRESENCE).data for r in records]
        assert all(isinstance(c, AgentPresenceChanged) for c in changes)
        assert [(c.presence, c.sequence) for c in changes] == \
            [("online", 1), ("away", 2), ("online", 3)]  # type: ignore[attr-defined]


async def _is(read: Callable[[], Awaitable[int]], expected: int) -> bool:
    return await read() == expected
