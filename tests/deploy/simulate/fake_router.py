"""An in-memory FIFO router for the simulation's own tests: first come, first assigned, to the least
loaded online agent with room; going away or offline keeps an agent's conversations (nothing is ever
moved). A test double for the harness, never a policy under evaluation."""

from __future__ import annotations

import asyncio
import atexit
import os
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sportello_deploy.simulate.protocol import Presence, Routed, Scored, SimAgent

_BANDS = (("urgent", 90.0, 15 * 60), ("high", 65.0, 3600), ("normal", 40.0, 4 * 3600), ("low", 10.0, 24 * 3600))


def score(text: str) -> tuple[str, float, float]:
    """A crude stand-in scorer: exclamation marks and a few words raise the band."""
    lowered = text.lower()
    points = min(3, text.count("!")) + sum(w in lowered for w in ("urgent", "still", "worst", "never"))
    band, priority, seconds = _BANDS[max(0, 3 - points)]
    return band, priority + min(9.0, len(text) / 30), seconds


@dataclass
class FakeRouter:
    agents: dict[uuid.UUID, SimAgent] = field(default_factory=dict)
    presence: dict[uuid.UUID, Presence] = field(default_factory=dict)
    owner: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    queue: deque[uuid.UUID] = field(default_factory=deque)
    known: set[uuid.UUID] = field(default_factory=set)
    resolved: set[uuid.UUID] = field(default_factory=set)
    calls: list[tuple[str, datetime]] = field(default_factory=list)
    ticks: int = 0
    heartbeats: int = 0
    closed: bool = False
    _routed: list[Routed] = field(default_factory=list)

    def load(self, agent_id: uuid.UUID) -> int:
        return sum(1 for a in self.owner.values() if a == agent_id)

    def _drain(self, at: datetime, reason: str) -> None:
        while self.queue:
            free = [a for a in self.agents.values()
                    if self.presence[a.id] == "online" and self.load(a.id) < a.capacity]
            if not free:
                return
            agent = min(free, key=lambda a: self.load(a.id))  # min() keeps creation order on ties
            conversation_id = self.queue.popleft()
            self.owner[conversation_id] = agent.id
            self._routed.append(Routed(conversation_id, agent.id, None, at, reason))

    def _call(self, name: str, at: datetime) -> None:
        assert not self.closed, "router used after close()"
        if self.calls:
            assert at >= self.calls[-1][1], f"{name} at {at} goes back in time"
        self.calls.append((name, at))

    async def add_agents(self, agents: Sequence[SimAgent], at: datetime) -> None:
        self._call("add_agents", at)
        for agent in agents:
            self.agents[agent.id] = agent
            self.presence[agent.id] = "offline"

    async def set_presence(self, agent_id: uuid.UUID, presence: Presence, at: datetime) -> None:
        self._call("set_presence", at)
        self.presence[agent_id] = presence
        self._drain(at, "capacity_freed")

    async def customer_message(self, *, conversation_id: uuid.UUID, customer_id: uuid.UUID, text: str,
                               author_handle: str, followers: int | None, at: datetime) -> Scored:
        self._call("customer_message", at)
        assert conversation_id not in self.resolved, "a message for a resolved conversation"
        band, priority, seconds = score(text)
        if conversation_id not in self.known:
            self.known.add(conversation_id)
            self.queue.append(conversation_id)
            self._drain(at, "new")
        return Scored(priority=priority, band=band, first_response_deadline=at + timedelta(seconds=seconds))

    async def agent_reply(self, *, conversation_id: uuid.UUID, agent_id: uuid.UUID, at: datetime) -> None:
        self._call("agent_reply", at)
        assert self.owner.get(conversation_id) == agent_id, "a reply from an agent who does not own it"
        assert self.presence[agent_id] == "online", "a reply from an agent who is not online"

    async def resolve(self, *, conversation_id: uuid.UUID, at: datetime) -> None:
        self._call("resolve", at)
        self.resolved.add(conversation_id)
        self.owner.pop(conversation_id, None)
        if conversation_id in self.queue:
            self.queue.remove(conversation_id)
        self._drain(at, "capacity_freed")

    async def heartbeat(self, agent_ids: Sequence[uuid.UUID], at: datetime) -> None:
        self.heartbeats += len(agent_ids)

    async def work_order(self, agent_id: uuid.UUID,
                         conversation_ids: Sequence[uuid.UUID]) -> list[uuid.UUID] | None:
        return None  # oldest waiting customer first

    async def tick(self, at: datetime) -> None:
        self._call("tick", at)
        self.ticks += 1

    def routed(self) -> list[Routed]:
        routed, self._routed = self._routed, []
        return routed

    async def close(self) -> None:
        self.closed = True


@dataclass
class StealingRouter(FakeRouter):
    """Moves an away or offline agent's conversations to the least loaded online agent on every tick:
    exercises the harness's handling of conversations taken away mid-work."""

    async def tick(self, at: datetime) -> None:
        await super().tick(at)
        for conversation_id, agent_id in list(self.owner.items()):
            if self.presence[agent_id] == "online":
                continue
            free = [a for a in self.agents.values()
                    if self.presence[a.id] == "online" and self.load(a.id) < a.capacity]
            if free:
                target = min(free, key=lambda a: self.load(a.id))
                self.owner[conversation_id] = target.id
                self._routed.append(Routed(conversation_id, target.id, agent_id, at, "away"))
            else:
                del self.owner[conversation_id]
                self.queue.appendleft(conversation_id)
                self._routed.append(Routed(conversation_id, None, agent_id, at, "away"))


async def make_fake_router(policy: str, *, work_dir: Path) -> FakeRouter:
    """A factory ``run.run_all`` can import by name, in its worker processes too."""
    assert work_dir.is_dir() and not any(work_dir.iterdir()), "each run gets an empty scratch directory"
    return FakeRouter()


async def make_slow_router_or_fail(policy: str, *, work_dir: Path) -> FakeRouter:
    """A factory whose ``boom`` policy fails at once and whose others take a second to start."""
    if policy == "boom":
        raise RuntimeError("this run fails")
    await asyncio.sleep(1)
    return FakeRouter()


async def make_stuck_router(policy: str, *, work_dir: Path) -> FakeRouter:
    """A factory that takes an hour: it writes its process id to ``started`` in the scratch directory,
    and ``exit-handlers-ran`` there if its process's exit handlers run (a real run's handlers stop its
    PostgreSQL server)."""
    atexit.register((work_dir / "exit-handlers-ran").touch)
    (work_dir / "started").write_text(str(os.getpid()))
    await asyncio.sleep(3600)
    return FakeRouter()
