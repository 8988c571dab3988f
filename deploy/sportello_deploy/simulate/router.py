"""The router under simulation: the real priority service and the real assignment service, each on
its own schema of one embedded PostgreSQL, called in-process on the simulated clock.

What production does over Kafka this does by hand, in the same order: a customer message is scored
by priority (``score_message``) and the resulting message.scored routed by assignment; replies stop
priority's SLA clock and assignment's no-reply timer; a tick takes priority's due SLA checkpoints
(moving priorities, raising escalations) and runs assignment's timer sweep. What routing did is
read back from assignment's outbox: the events consumers would see.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from sportello.contracts import Author, ConversationStatusChanged, MessageReceived
from sportello.db import Database
from sportello.db.database import create_engine
from sportello.runtime import migrate
from sportello_assignment import agents as assignment_agents
from sportello_assignment import service as assignment
from sportello_assignment.component import COMPONENT as ASSIGNMENT
from sportello_assignment.policy import Rules, policy_named
from sportello_assignment.repository import AssignmentRepository
from sportello_assignment.schemas import AgentChange, NewAgent
from sportello_assignment.settings import AssignmentSettings
from sportello_assignment.sweeps import sweep
from sportello_assignment.tables import outbox
from sportello_deploy.postgres import start_postgres
from sportello_deploy.simulate.protocol import Presence, Routed, Scored, SimAgent
from sportello_priority import service as priority
from sportello_priority.analysis import TextAnalyser
from sportello_priority.component import COMPONENT as PRIORITY
from sportello_priority.config import ConfigCache
from sportello_priority.repository import ScoreRepository
from sportello_priority.settings import PrioritySettings

CHANNEL = "x"


class ServiceRouter:
    def __init__(self, rules: Rules, assignment_db: Database, priority_db: Database,
                 configs: ConfigCache, analyser: TextAnalyser, closers: list[Any]) -> None:
        self.rules = rules
        self.assignment_db = assignment_db
        self.priority_db = priority_db
        self.configs = configs
        self.analyser = analyser
        self._closers = closers
        self._seen_outbox = 0
        self._status_sequence: dict[uuid.UUID, int] = {}
        self._customers: dict[uuid.UUID, uuid.UUID] = {}
        self._messages: dict[uuid.UUID, int] = {}  # customer messages so far, per conversation
        self._pending: list[Routed] = []
        # The simulation names agents by its own ids; assignment gives them theirs.
        self._ours: dict[uuid.UUID, uuid.UUID] = {}
        self._theirs: dict[uuid.UUID, uuid.UUID] = {}

    async def add_agents(self, agents: Sequence[SimAgent], at: datetime) -> None:
        async with self.assignment_db.transaction() as tx:
            for agent in agents:
                # The simulation's own (seeded) ids: ids break ties between agents, so random
                # ones would make two runs of the same seed differ.
                created = await assignment_agents.create_agent(
                    tx, NewAgent(name=agent.name, team="care", capacity=agent.capacity),
                    self.rules, agent.capacity, now=at, agent_id=agent.id)
                self._ours[agent.id], self._theirs[created.id] = created.id, agent.id

    async def set_presence(self, agent_id: uuid.UUID, presence: Presence, at: datetime) -> None:
        async with self.assignment_db.transaction() as tx:
            await assignment_agents.update_agent(tx, self._ours[agent_id],
                                                 AgentChange(presence=presence), self.rules, now=at)
        await self.collect()

    async def customer_message(self, *, conversation_id: uuid.UUID, customer_id: uuid.UUID,
                               text: str, author_handle: str, followers: int | None,
                               at: datetime) -> Scored:
        # Ids derived from the conversation and the message's place in it: a rerun of the same
        # seed gives every message the same id, so ties broken by id fall the same way.
        number = self._messages[conversation_id] = self._messages.get(conversation_id, 0) + 1
        message_id = uuid.uuid5(conversation_id, f"message:{number}")
        message = MessageReceived(
            message_id=message_id, conversation_id=conversation_id, customer_id=customer_id,
            conversation_opened=False, channel=CHANNEL, external_id=str(message_id),
            direction="inbound",
            author=Author(id=author_handle, display_name=author_handle, handle=author_handle,
                          followers=followers),
            text=text, sent_at=at, received_at=at, account="x:brand")
        async with self.priority_db.transaction() as tx:
            scoring = priority.Scoring(self.analyser, await self.configs.get(tx.session))
            scored = await priority.score_message(tx, message, scoring, now=at)
        assert scored is not None  # a fresh message id is never a duplicate
        self._customers[conversation_id] = customer_id
        async with self.assignment_db.transaction() as tx:
            await assignment.route_scored_message(tx, scored, self.rules, now=at)
        await self.collect()
        return Scored(priority=scored.conversation_priority,
                      band=scored.conversation_band or "normal",
                      first_response_deadline=scored.sla_deadline)

    async def agent_reply(self, *, conversation_id: uuid.UUID, agent_id: uuid.UUID,
                          at: datetime) -> None:
        async with self.priority_db.transaction() as tx:
            await priority.record_response(tx, conversation_id, at,
                                           await self.configs.get(tx.session), now=at)
        async with self.assignment_db.transaction() as tx:
            await assignment.record_reply(tx, conversation_id, self._ours[agent_id], at,
                                         self.rules)

    async def resolve(self, *, conversation_id: uuid.UUID, at: datetime) -> None:
        sequence = self._status_sequence.get(conversation_id, 0) + 1
        self._status_sequence[conversation_id] = sequence
        event = ConversationStatusChanged(
            conversation_id=conversation_id, customer_id=self._customers[conversation_id],
            status="resolved",
            reason="resolved", sequence=sequence, at=at)
        async with self.priority_db.transaction() as tx:
            await priority.record_status(tx, event, await self.configs.get(tx.session), now=at)
        async with self.assignment_db.transaction() as tx:
            await assignment.record_status(tx, event, self.rules, now=at)
        await self.collect()

    async def heartbeat(self, agent_ids: Sequence[uuid.UUID], at: datetime) -> None:
        async with self.assignment_db.transaction() as tx:
            await assignment_agents.heartbeats(tx, [self._ours[a] for a in agent_ids], at)

    async def work_order(self, agent_id: uuid.UUID,
                         conversation_ids: Sequence[uuid.UUID]) -> list[uuid.UUID] | None:
        # The agent's worklist (GET /v1/agents/{id}/worklist). A first-come-first-served policy
        # lists the oldest first, which is what the simulated agents do anyway.
        if self.rules.policy.queue_order == "fifo":
            return None
        wanted = set(conversation_ids)
        async with self.assignment_db.transaction() as tx:
            listed = await AssignmentRepository(tx.session).worklist(
                self._ours[agent_id], self.rules.policy, limit=1000)
        return [row.id for row in listed if row.id in wanted]

    async def tick(self, at: datetime) -> None:
        async with self.priority_db.transaction() as tx:
            due = await ScoreRepository(tx.session).due_conversations(at, 500)
        for conversation_id in due:
            async with self.priority_db.transaction() as tx:
                moved = await priority.take_checkpoints(tx, conversation_id, self.configs, at)
            if moved is not None:
                async with self.assignment_db.transaction() as tx:
                    await assignment.reprioritise(tx, moved, self.rules, now=at)
        await sweep(self.assignment_db, self.rules, at)
        await self.collect()

    def routed(self) -> list[Routed]:
        found, self._pending = self._pending, []
        return found

    async def collect(self) -> None:
        """Read what routing announced since the last call into ``routed()``."""
        async with self.assignment_db.transaction() as tx:
            rows = (await tx.session.execute(
                select(outbox.c.id, outbox.c.headers, outbox.c.value)
                .where(outbox.c.id > self._seen_outbox).order_by(outbox.c.id))).all()
        pending: list[Routed] = []
        for row_id, headers, value in rows:
            self._seen_outbox = row_id
            kind, payload = dict(headers)["ce_type"], json.loads(value)
            routed = _routed(kind, payload, self._theirs)
            if routed is not None:
                pending.append(routed)
        self._pending = [*self._pending, *pending]

    async def close(self) -> None:
        for close in reversed(self._closers):
            await close()


def _routed(kind: str, payload: dict[str, Any],
            theirs: dict[uuid.UUID, uuid.UUID]) -> Routed | None:
    raw_previous = payload.get("previous_agent_id")
    previous = theirs[uuid.UUID(raw_previous)] if raw_previous else None
    if kind == "conversation.assigned":
        return Routed(uuid.UUID(payload["conversation_id"]),
                      theirs[uuid.UUID(payload["agent"]["id"])], previous,
                      datetime.fromisoformat(payload["assigned_at"]), payload["reason"])
    if kind == "conversation.queued" and previous:
        return Routed(uuid.UUID(payload["conversation_id"]), None, previous,
                      datetime.fromisoformat(payload["queued_at"]), payload["reason"])
    return None


async def make_router(policy: str, *, work_dir: Path) -> ServiceRouter:
    """A router for ``policy`` on a PostgreSQL server of its own in ``work_dir`` (an empty
    directory), stopped by ``close()``: runs share nothing, so they can run one after another or
    side by side in separate processes (``run.run_all``) and give the same results."""
    server = await asyncio.to_thread(start_postgres, work_dir / "postgres")
    try:
        url = await asyncio.to_thread(server.create_database, f"simulate_{policy}")
        assignment_settings = AssignmentSettings(
            database_url=SecretStr(url), assignment_policy=policy,  # type: ignore[arg-type]
            # Off, so that a silent break stays what it models: an agent gone while the tool
            # shows them online. (Agents on a silent break send no heartbeats, so auto-away would
            # catch them after its delay; the variant is in docs/ASSIGNMENT.md.)
            assignment_auto_away_seconds=0)
        priority_settings = PrioritySettings(database_url=SecretStr(url))
        await migrate([ASSIGNMENT, PRIORITY], assignment_settings)
    except BaseException:
        server.release()
        raise
    engine = create_engine(assignment_settings)
    rules = assignment_settings.rules()
    assert rules.policy == policy_named(policy)

    async def stop_server() -> None:
        await asyncio.to_thread(server.release)

    return ServiceRouter(
        rules,
        Database(engine, ASSIGNMENT.metadata, source="sportello/assignment"),
        Database(engine, PRIORITY.metadata, source="sportello/priority"),
        ConfigCache(priority_settings), TextAnalyser(), [stop_server, engine.dispose])
