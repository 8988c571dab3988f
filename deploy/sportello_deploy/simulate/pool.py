"""The simulated agents: who is on duty when, and how long each piece of work takes.

Everything an agent does *of their own accord* is drawn before the run from the seed, per agent, so it
is identical for every policy: shift log-ins (a few minutes late), breaks, leaving early. The routing
under test decides *which* conversations an agent holds, and its tool in which order the agent
sees them (``Router.work_order``). The behaviours, all seen in care teams:

- **Shifts**: the day is covered by ``24 / shift_h`` crews; a crew's agents start within
  ``stagger_min`` of each other, so hand-overs are spread out, not a cliff.
- **Breaks** (Poisson per shift-hour, lognormal length, from the data's 30 min..3 h silences): the agent
  sets themselves *away* and stops working; their conversations stay with them unless routing moves
  them. A share of breaks is *silent*: the agent walks off still showing *online* (a forgotten status,
  a long call, heads-down in another channel) and so can still be given conversations.
- **Leaving early**: in a share of shifts the agent logs off for good part-way through (sick, a
  dropped connection), holding whatever they had.

Work (see ``engine.py``) is one conversation at a time, in the order the agent's tool lists them (by
default oldest waiting customer first). Handling time = the agent's own median (their speed: lognormal
across agents) times a per-reply lognormal draw; the draw is keyed by (conversation, reply number),
not by the order of events, so two policies that give the same reply to agents of equal speed pay the
same time for it. When an agent stops working (break, shift end, logging off) the reply in progress
is paused and resumed when they are back, unless the conversation was taken away meanwhile: then
that work is lost, as in a real helpdesk.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sportello_deploy.simulate.calibration import Lognormal, crews
from sportello_deploy.simulate.protocol import Presence, SimAgent

_NS = uuid.UUID("0d3c9a4e-7b61-4f0f-8e2a-2b3f5b8c9d10")


@dataclass(frozen=True)
class PoolConfig:
    agents: int
    handling: Lognormal  # per reply, across the team (agents' speed spread included)
    capacity: int = 7
    shift_h: float = 8.0
    stagger_min: float = 60.0
    late_login_max_min: float = 10.0
    breaks_per_shift_hour: float = 0.56
    break_length: Lognormal = field(default_factory=lambda: Lognormal(51 * 60, 0.45))
    max_break_min: float = 180.0
    silent_break_share: float = 0.25
    early_logoff_share: float = 0.1
    speed_sigma: float = 0.4  # agents' own median handling time, log-scale spread
    wrap_up: Lognormal = field(default_factory=lambda: Lognormal(60, 0.5))
    max_handling_s: float = 3600.0
    seed: int = 1

    @property
    def within_agent_sigma(self) -> float:
        """Per-reply spread once the agent's speed is known (total spread stays the data's)."""
        return math.sqrt(max(0.0, self.handling.sigma**2 - self.speed_sigma**2))


@dataclass(frozen=True, order=True)
class Change:
    """A scheduled change in what an agent does."""

    at: datetime
    agent: int
    presence: Presence  # what the router is told
    working: bool  # whether the agent works their conversations from now on
    why: str = field(compare=False)


def agent_specs(config: PoolConfig) -> list[SimAgent]:
    return [SimAgent(id=uuid.uuid5(_NS, f"agent:{i}"), name=f"sim-agent-{i:03d}", capacity=config.capacity)
            for i in range(config.agents)]


def speeds(config: PoolConfig) -> list[float]:
    """Each agent's median handling time in seconds."""
    return [config.handling.median_s * math.exp(random.Random(f"{config.seed}:speed:{i}").gauss(0, config.speed_sigma))
            for i in range(config.agents)]


def handling_s(config: PoolConfig, agent_median_s: float, key: str, kind: str = "reply") -> float:
    """Time for one piece of work; ``key`` names it (conversation and reply number) so the draw is
    the same whatever the order of events."""
    rng = random.Random(f"{config.seed}:{kind}:{key}")
    if kind == "wrap_up":
        return min(config.wrap_up.sample(rng), config.max_handling_s)
    return min(agent_median_s * math.exp(rng.gauss(0, config.within_agent_sigma)), config.max_handling_s)


def schedule(config: PoolConfig, start: datetime, end: datetime) -> list[Change]:
    """Every agent's presence and working changes in [start, end], in time order."""
    changes: list[Change] = []
    shift = timedelta(hours=config.shift_h)
    n_crews = crews(config.shift_h)
    period = shift * n_crews
    for i in range(config.agents):
        rng = random.Random(f"{config.seed}:schedule:{i}")
        crew = i % n_crews
        offset = timedelta(minutes=rng.uniform(0, config.stagger_min))
        # The first shift of this crew that is still running at `start` (or begins after it).
        first = start - period + crew * shift + offset
        while first + shift <= start:
            first += period
        shift_start = first
        while shift_start < end:
            changes.extend(_shift(config, rng, i, shift_start, shift_start + shift, start))
            shift_start += period
    return sorted(c for c in changes if c.at <= end)


def _shift(config: PoolConfig, rng: random.Random, agent: int, begin: datetime, finish: datetime,
           sim_start: datetime) -> list[Change]:
    login = begin + timedelta(minutes=rng.uniform(0, config.late_login_max_min))
    login = max(login, sim_start)
    leaves_early = rng.random() < config.early_logoff_share
    length_s = (finish - login).total_seconds()
    logoff = (login + timedelta(seconds=rng.uniform(0.25, 0.9) * length_s)) if leaves_early else finish
    out = [Change(login, agent, "online", True, "shift start")]
    # Breaks: a Poisson count over the shift, placed at random and kept apart (an agent takes one at a time).
    count = _poisson(rng, config.breaks_per_shift_hour * config.shift_h)
    starts = sorted(rng.uniform(0, length_s) for _ in range(count))
    free_from = login + timedelta(minutes=15)  # nobody goes on a break the minute they log in
    for offset in starts:
        silent = rng.random() < config.silent_break_share
        minutes = min(config.break_length.sample(rng) / 60, config.max_break_min)
        away_at = login + timedelta(seconds=offset)
        back_at = away_at + timedelta(minutes=minutes)
        if away_at < free_from or back_at >= logoff:
            continue
        out.append(Change(away_at, agent, "online" if silent else "away", False,
                          "silent break" if silent else "break"))
        # Back: re-announce online even after a silent break (a router may have marked them away).
        out.append(Change(back_at, agent, "online", True, "back from break"))
        free_from = back_at + timedelta(minutes=30)
    out.append(Change(logoff, agent, "offline", False, "left early" if leaves_early else "shift end"))
    return out


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: means here are a few per shift.
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


@dataclass
class Task:
    conversation_id: uuid.UUID
    kind: str  # "reply" | "wrap_up"
    needs_s: float  # handling time in all
    remaining_s: float
    running_since: datetime | None = None  # None: paused
    token: int = 0


@dataclass
class Agent:
    """One agent during a run: presence as the router knows it, the conversations routing gave them
    (in the order given), the piece of work in hand, and the time accounting for utilisation."""

    spec: SimAgent
    median_s: float
    presence: Presence = "offline"
    working: bool = False
    owned: dict[uuid.UUID, None] = field(default_factory=dict)  # an ordered set
    task: Task | None = None
    busy_s: float = 0.0
    online_s: float = 0.0
    online_since: datetime | None = None
    most_held: int = 0
    lost_work_s: float = 0.0  # handling spent on conversations taken away before the reply went out

    @property
    def busy(self) -> bool:
        return self.task is not None and self.task.running_since is not None

    def set_presence(self, presence: Presence, at: datetime) -> None:
        if self.online_since is not None:
            self.online_s += (at - self.online_since).total_seconds()
            self.online_since = None
        self.presence = presence
        if presence == "online":
            self.online_since = at

    def hold(self, conversation_id: uuid.UUID) -> None:
        self.owned[conversation_id] = None
        self.most_held = max(self.most_held, len(self.owned))

    def start(self, task: Task, at: datetime, token: int) -> datetime:
        task.running_since, task.token = at, token
        self.task = task
        return at + timedelta(seconds=task.remaining_s)

    def pause(self, at: datetime) -> None:
        """Stop the work in hand (it stays in hand, with the time it still needs)."""
        task = self.task
        if task is not None and task.running_since is not None:
            spent = (at - task.running_since).total_seconds()
            self.busy_s += spent
            task.remaining_s = max(0.0, task.remaining_s - spent)
            task.running_since = None

    def finish(self, at: datetime) -> Task:
        task = self.task
        assert task is not None
        self.pause(at)
        self.task = None
        return task

    def release(self, conversation_id: uuid.UUID, at: datetime) -> None:
        """The conversation is no longer theirs (moved, re-queued or resolved): any work on it is dropped."""
        self.owned.pop(conversation_id, None)
        task = self.task
        if task is not None and task.conversation_id == conversation_id:
            self.pause(at)
            self.lost_work_s += task.needs_s - task.remaining_s
            self.task = None

    def close(self, at: datetime) -> None:
        self.pause(at)
        self.set_presence(self.presence, at)
