"""The discrete-event run: traffic and agents on one simulated clock, every routing decision asked of
the router under test.

A heap of timed events (customer messages, agents' scheduled changes, replies done, auto-closes,
router ticks) is played in time order; ties keep the order they were scheduled in. After every router
call its ``routed()`` is applied to the pool, and agents whose situation changed pick up work.

A conversation's life, the same under every policy:

1. The customer's first turn arrives at the real (compressed) times. A message for a conversation that
   was closed opens a new one (same customer): a returning customer, a new ticket.
2. Its owner, when working, answers it (one reply covers every message that arrived before it went
   out; an agent's conversations in the order their tool lists them, ``Router.work_order``, by
   default oldest waiting first). The reply that answers a whole turn releases the next turn at the
   customer's real reaction delays, counted from this reply (see ``traffic.py``).
3. After the reply to the last turn the agent wraps up and resolves. A last turn the brand never
   answered in reality (a closing "thanks") is read and resolved without a reply, unless it is the
   conversation's first turn: every conversation gets a first response.
4. A conversation that waits on its customer for ``pending_timeout_s`` after a reply is closed by the
   helpdesk (no agent time); a later message from that customer opens a new conversation.

The run ends when every conversation is resolved and no message is left to come, or
``drain_h`` after the last arrival.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from sportello_deploy.simulate.metrics import AgentRecord, ConversationRecord, RunRecords
from sportello_deploy.simulate.pool import Agent, Change, PoolConfig, Task, agent_specs, handling_s, schedule, speeds
from sportello_deploy.simulate.protocol import Router
from sportello_deploy.simulate.traffic import Conversation, Traffic

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class EngineConfig:
    tick_s: float = 30.0
    pending_timeout_s: float = 3600.0
    drain_h: float = 24.0


@dataclass
class _Thread:
    number: int
    conversation: Conversation
    delivered: list[int]  # messages arrived, per turn
    released: int = 1  # turns whose messages are on their way
    segments: int = 0
    replies: int = 0  # in all its conversations: keys the handling-time draws
    current: _Segment | None = None
    done: bool = False

    @property
    def last_turn(self) -> int:
        return len(self.conversation.turns) - 1

    def turn_complete(self, turn: int) -> bool:
        return self.delivered[turn] == len(self.conversation.turns[turn].messages)


@dataclass
class _Segment:
    """One conversation as the router knows it."""

    id: uuid.UUID
    thread: _Thread
    record: ConversationRecord
    owner: int | None = None
    open: bool = True
    unanswered: list[tuple[int, datetime]] = field(default_factory=list)  # (turn, arrived)
    replies: int = 0
    last_reply_at: datetime | None = None
    finishing: bool = False  # the last turn is answered: wrap-up and resolve


class Engine:
    def __init__(self, traffic: Traffic, pool: PoolConfig, router: Router, config: EngineConfig | None = None,
                 progress: Callable[[float], None] | None = None) -> None:
        self.traffic, self.pool, self.router = traffic, pool, router
        self.config = config or EngineConfig()
        self.progress = progress
        specs = agent_specs(pool)
        self.agents = [Agent(spec=s, median_s=m) for s, m in zip(specs, speeds(pool), strict=True)]
        self.agent_index = {a.spec.id: i for i, a in enumerate(self.agents)}
        self.threads = [_Thread(n, c, [0] * len(c.turns)) for n, c in enumerate(traffic.conversations)]
        self.segments: dict[uuid.UUID, _Segment] = {}
        self.records: list[ConversationRecord] = []
        self.start = traffic.start
        self.horizon = max(c.arrival for c in traffic.conversations) + timedelta(hours=self.config.drain_h)
        self._heap: list[tuple[datetime, int, str, Any]] = []
        self._seq = itertools.count()
        self._tokens = itertools.count(1)
        self._dirty: set[int] = set()
        self._open_threads = len(self.threads)
        self.now = self.start
        self.stale_routed = 0  # routing about conversations already resolved: a router bug if > 0
        self.moves: Counter[str] = Counter()  # conversations taken from an agent, by the router's reason

    def _push(self, at: datetime, kind: str, payload: Any) -> None:
        heapq.heappush(self._heap, (at, next(self._seq), kind, payload))

    async def run(self) -> RunRecords:
        await self.router.add_agents([a.spec for a in self.agents], self.start)
        await self._routed()
        for change in schedule(self.pool, self.start, self.horizon):
            self._push(change.at, "change", change)
        for n, thread in enumerate(self.threads):
            self._release(n, 0, thread.conversation.arrival)
        self._push(self.start, "tick", None)
        span = (self.horizon - self.start).total_seconds()
        events = 0
        while self._heap and self._open_threads:
            at, _, kind, payload = heapq.heappop(self._heap)
            if at > self.horizon:
                break
            self.now = at
            await self._dispatch(kind, payload)
            await self._work()
            events += 1
            if self.progress is not None and events % 500 == 0:
                self.progress((at - self.start).total_seconds() / span)
        end = self.now if not self._open_threads else self.horizon
        for agent in self.agents:
            agent.close(end)
        if self.stale_routed:
            log.warning("simulate.stale_routed", count=self.stale_routed)
        return RunRecords(
            conversations=self.records, start=self.start, end=end, moves=dict(self.moves),
            agents=[AgentRecord(agent_id=a.spec.id, busy_s=a.busy_s, online_s=a.online_s, most_held=a.most_held,
                                capacity=a.spec.capacity, lost_work_s=a.lost_work_s) for a in self.agents])

    # Events

    async def _dispatch(self, kind: str, payload: Any) -> None:
        if kind == "message":
            await self._message(payload)
        elif kind == "change":
            await self._change(payload)
        elif kind == "done":
            await self._done(payload)
        elif kind == "tick":
            await self._tick(payload)
        else:
            await self._autoclose(payload)

    def _release(self, thread_no: int, turn: int, anchor: datetime) -> None:
        for i, message in enumerate(self.threads[thread_no].conversation.turns[turn].messages):
            self._push(anchor + timedelta(seconds=message.delay_s), "message", (thread_no, turn, i))

    async def _message(self, payload: tuple[int, int, int]) -> None:
        thread_no, turn, i = payload
        thread = self.threads[thread_no]
        conversation = thread.conversation
        thread.delivered[turn] += 1
        segment = thread.current
        if segment is None or not segment.open:
            segment = self._open_segment(thread)
        scored = await self.router.customer_message(
            conversation_id=segment.id, customer_id=conversation.customer_id,
            text=conversation.turns[turn].messages[i].text, author_handle=conversation.customer,
            followers=None, at=self.now)
        if segment.record.band == "":  # its first message: what the router made of it at arrival
            segment.record.priority, segment.record.band = scored.priority, scored.band
            segment.record.deadline = scored.first_response_deadline
        segment.unanswered.append((turn, self.now))
        await self._routed()
        if segment.owner is not None:
            self._dirty.add(segment.owner)

    def _open_segment(self, thread: _Thread) -> _Segment:
        conversation_id = thread.conversation.conversation_id(thread.segments)
        thread.segments += 1
        record = ConversationRecord(conversation_id=conversation_id, arrival=self.now, priority=0.0, band="",
                                    deadline=None)
        self.records.append(record)
        segment = _Segment(id=conversation_id, thread=thread, record=record)
        self.segments[conversation_id] = segment
        thread.current = segment
        return segment

    async def _change(self, change: Change) -> None:
        agent = self.agents[change.agent]
        if change.presence != agent.presence or change.why == "back from break":
            await self.router.set_presence(agent.spec.id, change.presence, self.now)
        agent.set_presence(change.presence, self.now)
        agent.working = change.working
        if not change.working:
            agent.pause(self.now)
        await self._routed()
        self._dirty.add(change.agent)

    async def _tick(self, _: None) -> None:
        # A console in use says so (every product's presence works this way); an agent on a break,
        # announced or silent, sends nothing. The same calls go to every router.
        await self.router.heartbeat([a.spec.id for a in self.agents if a.working], self.now)
        await self.router.tick(self.now)
        await self._routed()
        self._push(self.now + timedelta(seconds=self.config.tick_s), "tick", None)

    async def _autoclose(self, payload: tuple[uuid.UUID, int]) -> None:
        conversation_id, replies = payload
        segment = self.segments[conversation_id]
        if segment.open and segment.replies == replies and not segment.unanswered and not segment.finishing:
            await self._resolve(segment)

    async def _done(self, payload: tuple[int, int]) -> None:
        agent_no, token = payload
        agent = self.agents[agent_no]
        if agent.task is None or agent.task.token != token or not agent.busy:
            return  # paused or dropped since
        task = agent.finish(self.now)
        self._dirty.add(agent_no)
        segment = self.segments[task.conversation_id]
        if not segment.open or segment.owner != agent_no:  # defensive: release() drops such work
            return
        if task.kind == "wrap_up":
            await self._resolve(segment)
            return
        await self.router.agent_reply(conversation_id=segment.id, agent_id=agent.spec.id, at=self.now)
        thread = segment.thread
        segment.replies += 1
        thread.replies += 1
        segment.last_reply_at = self.now
        if segment.record.first_reply_at is None:
            segment.record.first_reply_at = self.now
        segment.unanswered.clear()
        turn = thread.released - 1
        if thread.turn_complete(turn):
            if turn == thread.last_turn:
                segment.finishing = True  # the agent wraps up straight away (see _work)
            else:
                thread.released += 1
                self._release(thread.number, turn + 1, self.now)
        if not segment.finishing:
            self._push(self.now + timedelta(seconds=self.config.pending_timeout_s), "autoclose",
                       (segment.id, segment.replies))
        await self._routed()

    async def _resolve(self, segment: _Segment) -> None:
        await self.router.resolve(conversation_id=segment.id, at=self.now)
        segment.open = False
        thread = segment.thread
        if segment.owner is not None:
            self.agents[segment.owner].release(segment.id, self.now)
            self._dirty.add(segment.owner)
            segment.owner = None
        if segment.finishing or (segment.unanswered and all(t == thread.last_turn for t, _ in segment.unanswered)
                                 and thread.turn_complete(thread.last_turn)):
            segment.unanswered.clear()
            thread.done = True
            self._open_threads -= 1
        await self._routed()

    # Routing and work

    async def _routed(self) -> None:
        for routed in self.router.routed():
            segment = self.segments.get(routed.conversation_id)
            if segment is None or not segment.open:
                self.stale_routed += 1
                continue
            new = self.agent_index.get(routed.agent_id) if routed.agent_id is not None else None
            previous = segment.owner
            if previous is not None and previous != new:
                self.agents[previous].release(segment.id, self.now)
                segment.record.reassignments += 1
                self.moves[routed.reason] += 1
                self._dirty.add(previous)
            segment.owner = new
            if new is not None:
                self.agents[new].hold(segment.id)
                self._dirty.add(new)

    def _needs(self, segment: _Segment) -> str | None:
        if not segment.open:
            return None
        if segment.finishing:
            return "wrap_up"
        if not segment.unanswered:
            return None
        thread = segment.thread
        last = thread.last_turn
        closing = all(turn == last for turn, _ in segment.unanswered)
        if closing and segment.replies > 0 and not thread.conversation.turns[last].answered:
            return "wrap_up" if thread.turn_complete(last) else None  # a "thanks": read it, close
        return "reply"

    def _waiting_since(self, segment: _Segment) -> datetime:
        if segment.unanswered:
            return segment.unanswered[0][1]
        return segment.last_reply_at or segment.record.arrival

    async def _work(self) -> None:
        """Agents free to work pick up their next piece of work."""
        for agent_no in sorted(self._dirty):
            agent = self.agents[agent_no]
            if not agent.working or agent.busy:
                continue
            task = agent.task
            # A paused task is still theirs (release() drops moved ones); resume it unless it is no
            # longer needed, in which case the time already spent on it is lost.
            if task is not None and self._needs(self.segments[task.conversation_id]) != task.kind:
                agent.lost_work_s += task.needs_s - task.remaining_s
                agent.task = task = None
            if task is None:
                task = await self._next_task(agent_no)
            if task is not None:
                token = next(self._tokens)
                self._push(agent.start(task, self.now, token), "done", (agent_no, token))
        self._dirty.clear()

    async def _next_task(self, agent_no: int) -> Task | None:
        agent = self.agents[agent_no]
        candidates = []
        for conversation_id in agent.owned:
            segment = self.segments[conversation_id]
            kind = self._needs(segment)
            if kind is not None:
                # A conversation being closed comes first: the agent is finishing what they just did.
                candidates.append((kind != "wrap_up" or not segment.finishing, self._waiting_since(segment),
                                   conversation_id, kind))
        if not candidates:
            return None
        # Then the order of the agent's tool, if it has one (the router's), else the oldest waiting
        # customer; what the tool does not list comes after what it does.
        rank: dict[uuid.UUID, int] = {}
        if len(candidates) > 1 and all(c[0] for c in candidates):
            order = await self.router.work_order(agent.spec.id, [c[2] for c in candidates])
            rank = {conversation_id: i for i, conversation_id in enumerate(order or ())}
        _, _, conversation_id, kind = min(candidates, key=lambda c: (c[0], rank.get(c[2], len(rank)), c[1]))
        thread = self.segments[conversation_id].thread
        key = f"{thread.conversation.key}:{thread.replies}"
        needs = handling_s(self.pool, agent.median_s, key, kind)
        return Task(conversation_id=conversation_id, kind=kind, needs_s=needs, remaining_s=needs)
