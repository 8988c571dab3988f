"""agent.presence_changed: every change of an agent's presence, capacity, name or team is announced
once, with the whole picture and the agent's next sequence, whichever path makes it (the API, the
seed, the sweeps, the start for agents never announced); nothing is announced when nothing the
event carries changed."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from sportello.contracts import AgentPresenceChanged
from sportello.db import Database
from sportello.http.problems import Conflict
from sportello.topics import AGENTS_PRESENCE
from sportello_assignment import agents
from sportello_assignment.schemas import NewAgent
from sportello_assignment.sweeps import sweep
from sportello_assignment.tables import agents as agents_table
from sportello_assignment.tables import outbox
from tests.assignment.support import CAPACITY, RULES, add_agent, at, patch, rules
from tests.services.calendar.calendars import ROME, office
from tests.services.calendar.calendars import at as at_zone


async def announced(db: Database, agent_id: uuid.UUID) -> list[dict[str, Any]]:
    """The agent.presence_changed payloads in the outbox for this agent, in order; every record
    keyed by the agent must be one, on the presence topic."""
    async with db.transaction() as tx:
        rows = (await tx.session.execute(
            select(outbox.c.topic, outbox.c.headers, outbox.c.value)
            .where(outbox.c.key == str(agent_id).encode()).order_by(outbox.c.id))).all()
    for topic, headers, _ in rows:
        assert (topic, dict(headers)["ce_type"]) == \
            (AGENTS_PRESENCE.name, AgentPresenceChanged.event_type)
    return [json.loads(value) for _, _, value in rows]


def picture(payload: dict[str, Any]) -> tuple[object, ...]:
    return (payload["presence"], payload["capacity"], payload["team"], payload["sequence"])


async def test_creating_an_agent_announces_it_once(db: Database) -> None:
    agent = await add_agent(db, capacity=3, presence="away", name="Ada", team="care")

    [payload] = await announced(db, agent.id)
    event = AgentPresenceChanged.model_validate(payload)
    assert (event.agent_id, event.name, event.team, event.presence, event.capacity,
            event.sequence) == (agent.id, "Ada", "care", "away", 3, 1)
    with pytest.raises(Conflict):  # the same name again: nothing created, nothing announced
        await add_agent(db, name="Ada")
    assert len(await announced(db, agent.id)) == 1


async def test_each_change_of_the_picture_is_announced_with_the_next_sequence(
        db: Database) -> None:
    agent = await add_agent(db, capacity=3, presence="offline")

    await patch(db, agent.id, presence="online", now=at(10))
    await patch(db, agent.id, capacity=5, now=at(20))
    await patch(db, agent.id, team="sales", now=at(30))
    await patch(db, agent.id, presence="away", capacity=4, now=at(40))  # one change, one event

    payloads = await announced(db, agent.id)
    assert [picture(p) for p in payloads] == [
        ("offline", 3, "care", 1), ("online", 3, "care", 2), ("online", 5, "care", 3),
        ("online", 5, "sales", 4), ("away", 4, "sales", 5)]
    assert [datetime.fromisoformat(p["at"]) for p in payloads[1:]] == [at(10), at(20), at(30),
                                                                       at(40)]


async def test_changes_the_event_does_not_carry_announce_nothing(db: Database) -> None:
    agent = await add_agent(db, capacity=3, presence="online", team="care")

    await patch(db, agent.id, presence="online", now=at(10))  # as it was: a console reload
    await patch(db, agent.id, capacity=3, team="care", now=at(20))
    await patch(db, agent.id, languages=["it"], topics=["lead"], channels=["x"], now=at(30))
    await patch(db, agent.id, channel_capacity={"email": 15}, now=at(40))
    async with db.transaction() as tx:
        await agents.heartbeat(tx, agent.id, at(50))
        await agents.heartbeats(tx, [agent.id], at(60))

    assert [p["sequence"] for p in await announced(db, agent.id)] == [1]


async def test_seeding_announces_each_agent_it_creates(db: Database) -> None:
    seeds = [NewAgent(name="Ada", team="care", presence="online"),
             NewAgent(name="Bo", team="sales", capacity=2)]
    async with db.transaction() as tx:
        assert await agents.seed_agents(tx, seeds, RULES, CAPACITY) == 2
    async with db.transaction() as tx:  # a restart: nobody new, nothing announced
        assert await agents.seed_agents(tx, seeds, RULES, CAPACITY) == 0
        by_name = {a.name: a.id for a in await agents.list_agents(tx)}

    assert [picture(p) for p in await announced(db, by_name["Ada"])] == \
        [("online", CAPACITY, "care", 1)]
    assert [picture(p) for p in await announced(db, by_name["Bo"])] == [("offline", 2, "sales", 1)]


async def test_the_sweep_announces_each_agent_it_turns_away(db: Database) -> None:
    auto_away = rules(auto_away_s=900)
    idle, busy, already_away = (await add_agent(db), await add_agent(db),
                                await add_agent(db, presence="away"))
    async with db.transaction() as tx:
        await agents.heartbeats(tx, [idle.id, busy.id, already_away.id], at(0))
        await agents.heartbeat(tx, busy.id, at(500))

    await sweep(db, auto_away, at(901))
    await sweep(db, auto_away, at(902))  # nothing more to do

    [_, turned] = await announced(db, idle.id)
    assert (picture(turned), datetime.fromisoformat(turned["at"])) == \
        (("away", 2, "care", 2), at(901))
    assert len(await announced(db, busy.id)) == 1  # seen at 500: still online
    assert len(await announced(db, already_away.id)) == 1


async def test_the_sweep_announces_a_shift_s_end(db: Database) -> None:
    rome_office = office("Europe/Rome", "09:00-13:00", "14:00-18:00").model_dump(mode="json")
    agent = await add_agent(db, capacity=3, presence="offline", shifts=rome_office)
    await patch(db, agent.id, presence="online", now=at_zone(ROME, 2030, 3, 4, 10))

    await sweep(db, RULES, at_zone(ROME, 2030, 3, 4, 12, 59))  # still on shift
    await sweep(db, RULES, at_zone(ROME, 2030, 3, 4, 13, 1))  # the lunch break
    await sweep(db, RULES, at_zone(ROME, 2030, 3, 4, 13, 2))

    assert [picture(p) for p in await announced(db, agent.id)] == [
        ("offline", 3, "care", 1), ("online", 3, "care", 2), ("offline", 3, "care", 3)]


async def test_turned_away_and_off_shift_in_one_pass_is_announced_in_order(db: Database) -> None:
    rome_office = office("Europe/Rome", "09:00-13:00").model_dump(mode="json")
    agent = await add_agent(db, capacity=3, presence="offline", shifts=rome_office)
    await patch(db, agent.id, presence="online", now=at_zone(ROME, 2030, 3, 4, 10))

    # Idle since 10:00 and past the end of the shift: away, then offline.
    await sweep(db, rules(auto_away_s=900), at_zone(ROME, 2030, 3, 4, 13, 1))

    assert [(p["presence"], p["sequence"]) for p in await announced(db, agent.id)] == [
        ("offline", 1), ("online", 2), ("away", 3), ("offline", 4)]


async def test_agents_from_before_presence_events_are_announced_once_at_start(
        db: Database) -> None:
    old = await add_agent(db, capacity=4, presence="online", team="care")
    async with db.transaction() as tx:  # as the migration leaves an agent created before it
        await tx.session.execute(update(agents_table).where(agents_table.c.id == old.id)
                                 .values(presence_sequence=0))
        await tx.session.execute(delete(outbox))
    new = await add_agent(db)

    async with db.transaction() as tx:
        assert await agents.announce_unannounced(tx) == 1
    async with db.transaction() as tx:  # a restart, or a second replica
        assert await agents.announce_unannounced(tx) == 0

    [payload] = await announced(db, old.id)
    assert picture(payload) == ("online", 4, "care", 1)
    assert datetime.fromisoformat(payload["at"]) == old.presence_changed_at
    assert len(await announced(db, new.id)) == 1  # its creation only


async def test_an_agent_created_with_an_id_keeps_it(db: Database) -> None:
    chosen = uuid.uuid5(uuid.NAMESPACE_URL, f"agent:{uuid.uuid4()}")
    async with db.transaction() as tx:
        created = await agents.create_agent(tx, NewAgent(name=f"replay-{chosen}", team="care"),
                                            RULES, CAPACITY, agent_id=chosen)
    assert created.id == chosen
