"""Agents' SQL: skills, presence, and the slots they hold per channel.

A slot is claimed or released with one UPDATE of the agent's row whose WHERE rechecks room under
the row lock, so no interleaving of transactions can push an agent past capacity.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, any_, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import array, insert
from sqlalchemy.ext.asyncio import AsyncSession

from sportello.contracts import Presence
from sportello_assignment.policy import Policy
from sportello_assignment.tables import agents

_COLUMNS = (agents.c.id, agents.c.name, agents.c.team, agents.c.capacity,
            agents.c.channel_capacity, agents.c.languages, agents.c.channels, agents.c.topics,
            agents.c.presence, agents.c.presence_changed_at, agents.c.last_seen_at,
            agents.c.shifts, agents.c.active_count, agents.c.active, agents.c.load,
            agents.c.presence_sequence)


@dataclass(frozen=True)
class Agent:
    id: uuid.UUID
    name: str
    team: str
    capacity: int
    channel_capacity: dict[str, int]
    languages: list[str]
    channels: list[str]
    topics: list[str]
    presence: Presence
    presence_changed_at: datetime
    last_seen_at: datetime
    shifts: dict[str, Any] | None
    active_count: int
    active: dict[str, int]
    load: float
    presence_sequence: int

    def capacity_on(self, channel: str) -> int:
        return self.channel_capacity.get(channel, self.capacity)

    def has_room_on(self, channel: str) -> bool:
        return self.active.get(channel, 0) < self.capacity_on(channel)

    def open_channels(self, known: Iterable[str]) -> list[str]:
        """Channels the agent may take a conversation on now: their own list (or every ``known``
        channel when they list none) where they have room."""
        candidates = self.channels or sorted({*known, *self.active, *self.channel_capacity})
        return [channel for channel in candidates if self.has_room_on(channel)]

    def weighted_load(self) -> float:
        return sum(count / self.capacity_on(channel) for channel, count in self.active.items())


@dataclass(frozen=True)
class Need:
    """What a conversation asks of an agent; None/empty fields ask nothing."""

    channel: str
    team: str | None = None
    language: str | None = None
    topic: str | None = None
    avoid: uuid.UUID | None = None
    # Only agents less loaded than this (a move away from a slow owner must help the customer).
    below_load: float | None = None


def _open_on(channel: str) -> ColumnElement[int]:
    return func.coalesce(agents.c.active[channel].astext.cast(Integer), 0)


def _capacity_on(channel: str) -> ColumnElement[int]:
    return func.coalesce(agents.c.channel_capacity[channel].astext.cast(Integer), agents.c.capacity)


def _room_on(channel: str) -> ColumnElement[bool]:
    return _open_on(channel) < _capacity_on(channel)


def _any_or_none(skills: Any, wanted: str) -> ColumnElement[bool]:
    """The agent lists ``wanted`` among these skills, or lists none of this kind (no restriction)."""
    return or_(func.cardinality(skills) == 0, literal(wanted) == any_(skills))


class AgentQueries:
    session: AsyncSession

    async def insert_agent(self, values: dict[str, Any]) -> Agent | None:
        """None when an agent of that name exists (names are the seed's idempotency key).
        ``values`` carries the id (``agents.create_agent`` chooses it)."""
        row = (await self.session.execute(
            insert(agents).values(**values)
            .on_conflict_do_nothing(index_elements=["name"]).returning(*_COLUMNS)
        )).first()
        return Agent(*row) if row else None

    async def get_agent(self, agent_id: uuid.UUID, *, lock: bool = False) -> Agent | None:
        query = select(*_COLUMNS).where(agents.c.id == agent_id)
        row = (await self.session.execute(query.with_for_update() if lock else query)).first()
        return Agent(*tuple(row)) if row else None

    async def list_agents(self) -> list[Agent]:
        rows = await self.session.execute(select(*_COLUMNS).order_by(agents.c.name))
        return [Agent(*tuple(row)) for row in rows]

    async def update_agent(self, agent_id: uuid.UUID, values: dict[str, Any]) -> Agent | None:
        row = (await self.session.execute(
            update(agents).where(agents.c.id == agent_id)
            .values(**values, updated_at=func.now()).returning(*_COLUMNS)
        )).first()
        return Agent(*row) if row else None

    async def touch(self, agent_ids: list[uuid.UUID], at: datetime) -> None:
        """These agents were active at ``at`` (never moved back by a late report)."""
        if agent_ids:
            await self.session.execute(
                update(agents).where(agents.c.id.in_(agent_ids), agents.c.last_seen_at < at)
                .values(last_seen_at=at))

    async def claim(self, agent_id: uuid.UUID, channel: str, at: datetime, *,
                    online_only: bool = True) -> Agent | None:
        """A slot of this agent on ``channel`` if it has room (and is online, unless a person
        chose the agent); None otherwise. The WHERE is rechecked under the row lock."""
        conditions = [agents.c.id == agent_id, _room_on(channel)]
        if online_only:
            conditions.append(agents.c.presence == "online")
        return await self._take_slot(conditions, channel, at)

    async def claim_best(self, need: Need, policy: Policy, at: datetime, *,
                         wait: bool) -> Agent | None:
        """A slot of the best online agent for ``need`` under ``policy``.

        ``wait=False`` skips agents other transactions are claiming right now, so concurrent
        handlers spread over agents instead of queueing behind one row lock (it can miss room on
        a locked agent); ``wait=True`` waits for those locks, so it finds room wherever there is.
        """
        candidate = (
            select(agents.c.id).where(*self._eligible(need, policy))
            .order_by(*self._agent_order(need, policy)).limit(1)
            .with_for_update(skip_locked=not wait).scalar_subquery()
        )
        return await self._take_slot([agents.c.id == candidate, _room_on(need.channel),
                                      agents.c.presence == "online"], need.channel, at)

    async def release(self, agent_id: uuid.UUID, channel: str) -> None:
        remaining = func.greatest(_open_on(channel) - 1, 0)
        await self.session.execute(
            update(agents).where(agents.c.id == agent_id).values(
                active_count=func.greatest(agents.c.active_count - 1, 0),
                active=func.jsonb_set(agents.c.active, array([channel]), func.to_jsonb(remaining)),
                load=func.greatest(agents.c.load - 1.0 / _capacity_on(channel), 0),
            ))

    async def set_presence_where(self, presence: Presence, at: datetime,
                                 *conditions: ColumnElement[bool]) -> list[Agent]:
        """Set ``presence`` on the agents matching ``conditions`` that do not have it yet, in one
        statement; returns them as they now are, each with its next presence sequence."""
        rows = await self.session.execute(
            update(agents).where(*conditions, agents.c.presence != presence)
            .values(presence=presence, presence_changed_at=at,
                    presence_sequence=agents.c.presence_sequence + 1)
            .returning(*_COLUMNS))
        return [Agent(*tuple(row)) for row in rows]

    async def take_first_presence_sequence(self) -> list[Agent]:
        """Agents never announced (created before presence sequences existed), now numbered 1;
        one statement, so replicas starting together each take different agents."""
        rows = await self.session.execute(
            update(agents).where(agents.c.presence_sequence == 0)
            .values(presence_sequence=1).returning(*_COLUMNS))
        return [Agent(*tuple(row)) for row in rows]

    async def gone_with_conversations(self, since: datetime, limit: int) -> list[uuid.UUID]:
        """Agents offline since before ``since`` who still hold conversations."""
        rows = await self.session.execute(
            select(agents.c.id).where(agents.c.presence == "offline",
                                      agents.c.presence_changed_at <= since,
                                      agents.c.active_count > 0)
            .order_by(agents.c.presence_changed_at, agents.c.id).limit(limit))
        return list(rows.scalars())

    async def on_duty_with_shifts(self) -> list[tuple[uuid.UUID, dict[str, Any]]]:
        rows = await self.session.execute(
            select(agents.c.id, agents.c.shifts).where(agents.c.shifts.is_not(None),
                                                       agents.c.presence != "offline"))
        return [(agent_id, shifts) for agent_id, shifts in rows]

    async def with_room(self) -> list[uuid.UUID]:
        """Online agents below capacity on some channel, least loaded first."""
        rows = await self.session.execute(
            select(agents.c.id).where(agents.c.presence == "online")
            .order_by(agents.c.load, agents.c.last_assigned_at.asc().nulls_first(), agents.c.id))
        return list(rows.scalars())

    async def _take_slot(self, conditions: list[ColumnElement[bool]], channel: str,
                         at: datetime) -> Agent | None:
        row = (await self.session.execute(
            update(agents).where(*conditions).values(
                active_count=agents.c.active_count + 1,
                active=func.jsonb_set(agents.c.active, array([channel]),
                                      func.to_jsonb(_open_on(channel) + 1)),
                load=agents.c.load + 1.0 / _capacity_on(channel),
                last_assigned_at=at,
            ).returning(*_COLUMNS)
        )).first()
        return Agent(*row) if row else None

    @staticmethod
    def _eligible(need: Need, policy: Policy) -> list[ColumnElement[bool]]:
        conditions = [agents.c.presence == "online", _room_on(need.channel)]
        if need.avoid is not None:
            conditions.append(agents.c.id != need.avoid)
        if need.below_load is not None:
            conditions.append(agents.c.load < need.below_load)
        if not policy.skills:
            return conditions
        conditions.append(_any_or_none(agents.c.channels, need.channel))
        if need.team is not None:
            conditions.append(agents.c.team == need.team)
        if need.language is not None:
            conditions.append(_any_or_none(agents.c.languages, need.language))
        if need.topic is not None:
            conditions.append(_any_or_none(agents.c.topics, need.topic))
        return conditions

    @staticmethod
    def _agent_order(need: Need, policy: Policy) -> list[Any]:
        rotation = [agents.c.last_assigned_at.asc().nulls_first(), agents.c.id]
        if policy.agent_order == "rotation":
            return rotation
        if policy.agent_order == "fewest_open":
            return [agents.c.active_count, *rotation]
        specialist = [] if need.topic is None else [(literal(need.topic) == any_(agents.c.topics)).desc()]
        return [*specialist, agents.c.load, *rotation]
