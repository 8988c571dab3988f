"""Agents and teams: skills, capacity, presence and shifts. Whatever gives an agent room (coming
online, a higher capacity) hands them queued conversations in the same transaction. Every change of
what ``agent.presence_changed`` carries (presence, capacity, name, team) is announced with the
agent's next presence sequence, in the transaction that makes it."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from sportello.calendar import BusinessCalendar
from sportello.contracts import AgentPresenceChanged
from sportello.db import Tx
from sportello.http.problems import Conflict, NotFound
from sportello_assignment.policy import Rules
from sportello_assignment.repository import Agent, AssignmentRepository
from sportello_assignment.routing import drain_for
from sportello_assignment.schemas import AgentChange, AgentOut, NewAgent, TeamIn, TeamOut
from sportello_assignment.tables import teams

log = structlog.get_logger(__name__)

# The fields agent.presence_changed carries (with the id): a change of any of them is announced.
# channel_capacity is not among them: the event's capacity is the default per channel.
_ANNOUNCED = ("name", "team", "presence", "capacity")


async def create_agent(tx: Tx, new: NewAgent, rules: Rules, default_capacity: int,
                       now: datetime | None = None, *,
                       agent_id: uuid.UUID | None = None) -> AgentOut:
    """``agent_id`` (default: a random one) lets a replay name its agents the same way every run:
    ids break ties between equally loaded agents, so random ids make runs differ."""
    now = now or datetime.now(UTC)
    repo = AssignmentRepository(tx.session)
    await repo.lock_queue()
    values = new.model_dump(exclude_none=True, mode="json")
    values.setdefault("capacity", default_capacity)
    if values.get("presence") == "online":
        _refuse_outside_shift(values.get("shifts"), now)
    agent = await repo.insert_agent({**values, "id": agent_id or uuid.uuid4(),
                                     "presence_changed_at": now, "last_seen_at": now,
                                     "presence_sequence": 1})
    if agent is None:
        raise Conflict(f"An agent named {new.name!r} already exists.")
    log.info("assignment.agent_created", agent_id=str(agent.id), presence=agent.presence)
    await announce_presence(tx, agent, now)
    return await _drain_if_room(tx, repo, agent, rules, now)


async def update_agent(tx: Tx, agent_id: uuid.UUID, change: AgentChange, rules: Rules,
                       now: datetime | None = None) -> AgentOut:
    now = now or datetime.now(UTC)
    repo = AssignmentRepository(tx.session)
    await repo.lock_queue()
    current = await repo.get_agent(agent_id, lock=True)
    if current is None:
        raise NotFound(f"No agent {agent_id}.")
    values = change.model_dump(exclude_none=True, mode="json")
    # Going online, or new shifts for an online agent, must fall within the shifts.
    if ("shifts" in values or "presence" in values) and \
            values.get("presence", current.presence) == "online":
        _refuse_outside_shift(values.get("shifts", current.shifts), now)
    if "presence" in values:
        values.update(last_seen_at=now)
        if values["presence"] != current.presence:
            values.update(presence_changed_at=now)
    if "capacity" in values or "channel_capacity" in values:
        # Lowering capacity below the current load keeps those conversations; no new ones come
        # until the agent is below it again.
        values["load"] = replace(
            current, capacity=values.get("capacity", current.capacity),
            channel_capacity=values.get("channel_capacity", current.channel_capacity),
        ).weighted_load()
    announce = any(field in values and values[field] != getattr(current, field)
                   for field in _ANNOUNCED)
    if announce:
        # The row is locked: no other writer can take the same number.
        values["presence_sequence"] = current.presence_sequence + 1
    agent = await repo.update_agent(agent_id, values)
    assert agent is not None  # locked above
    log.info("assignment.agent_updated", agent_id=str(agent_id), fields=sorted(values))
    if announce:
        await announce_presence(tx, agent, now)
    return await _drain_if_room(tx, repo, agent, rules, now)


async def announce_presence(tx: Tx, agent: Agent, at: datetime) -> None:
    """Publish the agent's whole picture as it now is (its ``presence_sequence`` already taken)."""
    await tx.outbox.add(AgentPresenceChanged(
        agent_id=agent.id, name=agent.name, team=agent.team, presence=agent.presence,
        capacity=agent.capacity, sequence=agent.presence_sequence, at=at,
    ), subject=str(agent.id))
    log.info("assignment.presence_announced", agent_id=str(agent.id), presence=agent.presence,
             capacity=agent.capacity, sequence=agent.presence_sequence)


async def announce_unannounced(tx: Tx) -> int:
    """Announce the agents that never were (created before presence events existed), so the
    consumers' picture of the team is whole without waiting for each agent's next change. Each
    event is dated when the agent took the presence it is in. Returns how many."""
    repo = AssignmentRepository(tx.session)
    await repo.lock_queue()  # agent rows are written under it (see repository)
    unannounced = await repo.take_first_presence_sequence()
    for agent in unannounced:
        await announce_presence(tx, agent, agent.presence_changed_at)
    return len(unannounced)


async def heartbeat(tx: Tx, agent_id: uuid.UUID, now: datetime | None = None) -> AgentOut:
    """The agent's console is open and in use: keeps an online agent from turning away."""
    repo = AssignmentRepository(tx.session)
    await repo.touch([agent_id], now or datetime.now(UTC))
    agent = await repo.get_agent(agent_id)
    if agent is None:
        raise NotFound(f"No agent {agent_id}.")
    return AgentOut.model_validate(agent)


async def heartbeats(tx: Tx, agent_ids: list[uuid.UUID], now: datetime) -> None:
    """Many consoles at once (one statement), e.g. a presence service relaying its connections."""
    await AssignmentRepository(tx.session).touch(agent_ids, now)


async def seed_agents(tx: Tx, seeds: list[NewAgent], rules: Rules, default_capacity: int) -> int:
    """Create the seed agents that do not exist yet (by name); agents changed since through the API
    keep their changes. Returns how many were created."""
    repo = AssignmentRepository(tx.session)
    existing = {agent.name for agent in await repo.list_agents()}
    created = 0
    for seed in seeds:
        if seed.name not in existing:
            await create_agent(tx, seed, rules, default_capacity)
            created += 1
    log.info("assignment.agents_seeded", created=created, seeds=len(seeds))
    return created


async def get_agent(tx: Tx, agent_id: uuid.UUID) -> AgentOut:
    agent = await AssignmentRepository(tx.session).get_agent(agent_id)
    if agent is None:
        raise NotFound(f"No agent {agent_id}.")
    return AgentOut.model_validate(agent)


async def list_agents(tx: Tx) -> list[AgentOut]:
    return [AgentOut.model_validate(a) for a in await AssignmentRepository(tx.session).list_agents()]


async def put_team(tx: Tx, name: str, team: TeamIn) -> TeamOut:
    await tx.session.execute(
        insert(teams).values(name=name, accounts=team.accounts)
        .on_conflict_do_update(index_elements=["name"], set_={"accounts": team.accounts}))
    return TeamOut(name=name, accounts=team.accounts)


async def list_teams(tx: Tx) -> list[TeamOut]:
    rows = await tx.session.execute(select(teams.c.name, teams.c.accounts).order_by(teams.c.name))
    return [TeamOut(name=name, accounts=accounts) for name, accounts in rows]


def on_shift(shifts: dict[str, Any] | None, now: datetime) -> bool:
    return shifts is None or _calendar(_frozen(shifts)).is_open(now)


async def _drain_if_room(tx: Tx, repo: AssignmentRepository, agent: Agent, rules: Rules,
                         now: datetime) -> AgentOut:
    if agent.presence == "online" and await drain_for(tx, agent.id, rules, now):
        agent = await repo.get_agent(agent.id) or agent  # its load changed
    return AgentOut.model_validate(agent)


def _refuse_outside_shift(shifts: dict[str, Any] | None, now: datetime) -> None:
    if not on_shift(shifts, now):
        raise Conflict("The agent is outside their shift; change the shift to work now.")


def _frozen(shifts: dict[str, Any]) -> str:
    return json.dumps(shifts, sort_keys=True)


@lru_cache(maxsize=4096)
def _calendar(spec: str) -> BusinessCalendar:
    # Parsed once per distinct shift pattern: the sweep asks every few seconds for every agent.
    return BusinessCalendar.model_validate(json.loads(spec))
