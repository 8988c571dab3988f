"""The seam between the simulation and the routing under test.

The simulation owns time, traffic and agents; a :class:`Router` owns every routing decision (who gets
a conversation, when one is re-queued or moved, in which order an agent's list shows their
conversations). Each policy is a ``Router``; the harness feeds every
policy the same calls in the same order, so the only thing that differs between runs is the router.
All datetimes are UTC-aware and on the *simulated* clock: a router must never read the wall clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

Presence = Literal["online", "away", "offline"]


@dataclass(frozen=True)
class Scored:
    priority: float  # 0..100, the conversation's priority after this message
    band: str  # urgent | high | normal | low
    first_response_deadline: datetime | None


@dataclass(frozen=True)
class Routed:
    """What routing did since the last call, in order."""

    conversation_id: uuid.UUID
    agent_id: uuid.UUID | None  # None = taken away from `previous_agent_id` (re-queued)
    previous_agent_id: uuid.UUID | None
    at: datetime
    reason: str


@dataclass(frozen=True)
class SimAgent:
    id: uuid.UUID
    name: str
    capacity: int = 7  # concurrent conversations


class Router(Protocol):
    async def add_agents(self, agents: Sequence[SimAgent], at: datetime) -> None:
        """Create the agents, offline."""

    async def set_presence(self, agent_id: uuid.UUID, presence: Presence, at: datetime) -> None: ...

    async def customer_message(self, *, conversation_id: uuid.UUID, customer_id: uuid.UUID, text: str,
                               author_handle: str, followers: int | None, at: datetime) -> Scored: ...

    async def agent_reply(self, *, conversation_id: uuid.UUID, agent_id: uuid.UUID, at: datetime) -> None: ...

    async def resolve(self, *, conversation_id: uuid.UUID, at: datetime) -> None: ...

    async def heartbeat(self, agent_ids: Sequence[uuid.UUID], at: datetime) -> None:
        """These agents' consoles are in use (they are at work, whether typing or reading)."""

    async def work_order(self, agent_id: uuid.UUID,
                         conversation_ids: Sequence[uuid.UUID]) -> list[uuid.UUID] | None:
        """These conversations of the agent's in the order their tool lists them to answer, the
        next first; None: the tool's list is oldest waiting customer first (the agents' default)."""

    async def tick(self, at: datetime) -> None:
        """Timers (auto-away, offline grace, no-reply reassignment, sticky waits); called regularly."""

    def routed(self) -> list[Routed]:
        """Assignments and re-queues since the last call (drains)."""

    async def close(self) -> None: ...
