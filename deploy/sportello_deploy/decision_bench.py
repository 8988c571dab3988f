"""Benchmark of one assignment decision at scale: 1,000 agents, 100,000 waiting conversations.

Runs on a real (embedded) PostgreSQL with assignment's schema migrated to head, filled with SQL
(``INSERT ... SELECT generate_series``): agents in several teams with language, channel and topic
skills, every one online and full (7 per channel, backed by real assigned conversations), and a
queue with a realistic mix of bands, SLA deadlines, waiting times, teams, languages and topics.

Two decisions are timed, each as a whole (one transaction including its commit) and as the choice
alone (the query, in a transaction rolled back):

- *an agent gets room*: one slot of a random agent is freed (untimed), then ``routing.drain_for``
  picks and assigns the best conversation they may take; the choice is ``repo.next_for``;
- *a new conversation arrives*: ``service.route_scored_message`` for a new ``MessageScored`` while
  everyone is busy (it queues) and after room was freed across agents (it is assigned); the choice
  is ``repo.claim_best(..., wait=False)``.

A sample of decisions is checked against a brute-force choice in Python over all the rows, and
``EXPLAIN (ANALYZE, BUFFERS)`` shows the plan of the queue query. Timings on a 2-core machine are
noisy: compare medians of several runs, never single numbers.

    python -m sportello_deploy.decision_bench [--agents 1000] [--waiting 100000] [--decisions 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import event, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from sportello.contracts import Intent, MessageScored, Sentiment
from sportello.db import Database
from sportello.db.database import create_engine
from sportello.observability.logging import configure_logging
from sportello.runtime import migrate
from sportello.settings import ServiceSettings
from sportello_assignment import service
from sportello_assignment.component import COMPONENT
from sportello_assignment.policy import BAND_OF_RANK, POLICIES, Rules, queue_class
from sportello_assignment.repository import Agent, AssignmentRepository, Need
from sportello_assignment.routing import drain_for
from sportello_assignment.tables import agents as agents_table
from sportello_assignment.tables import conversations as conversations_table
from sportello_deploy.percentiles import nearest_rank

RULES = Rules(policy=POLICIES["ours"])
CAPACITY = 7
CHANNELS = ("chat", "email", "twitter", "whatsapp")
LANGUAGES = ("en", "it", "es")
TOPICS = ("technical", "billing", "refund", "sales", "legal")
# The partial index ours' queue order walks (tables.conversations); the benchmark checks the plan uses it.
QUEUE_INDEX = "conversations_queue_class_due"


@dataclass(frozen=True)
class DecisionBenchConfig:
    agents: int = 1000
    waiting: int = 100_000
    teams: int = 10
    decisions: int = 300  # "an agent gets room" decisions
    new_while_full: int = 100  # new conversations while every agent is busy (they queue)
    freed_for_new: int = 500  # agents given one slot before the new conversations that get assigned
    new_conversations: int = 300  # new conversations routed after that
    verify: int = 10  # decisions of each kind checked by brute force (spread over the run)
    seed: int = 7


@dataclass
class DecisionBenchResult:
    config: DecisionBenchConfig
    summary: dict[str, Any]
    # (agent, channel freed, conversation assigned or None) for each "agent gets room" decision.
    room_decisions: list[tuple[uuid.UUID, str, uuid.UUID | None]] = field(default_factory=list)
    # (conversation, agent or None) for each new conversation routed, both phases.
    new_decisions: list[tuple[uuid.UUID, uuid.UUID | None]] = field(default_factory=list)
    checked: int = 0
    mismatches: list[str] = field(default_factory=list)
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    timings_ms: dict[str, list[float]] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    # Median milliseconds of each statement of a decision, in order.
    steps: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    fill_s: float = 0.0


# --------------------------------------------------------------------------------------------
# Filling the database


_FILL = [
    "SELECT setseed(:seed)",
    """
    INSERT INTO assignment.teams (name, accounts)
    SELECT 'team-' || t, ARRAY['x:brand-' || t] FROM generate_series(0, :teams - 1) AS t
    """,
    # Skills: mostly English, Italian and Spanish speakers and mixes, a few with no language
    # listed (any); one to three channels each; one in five a topic specialist.
    """
    INSERT INTO assignment.agents (id, name, team, capacity, languages, channels, topics, presence,
                                   presence_changed_at, last_seen_at, last_assigned_at)
    SELECT gen_random_uuid(), 'bench-agent-' || lpad(i::text, 5, '0'), 'team-' || (i % :teams),
           :capacity,
           string_to_array(CASE WHEN r1 < 0.45 THEN 'en' WHEN r1 < 0.60 THEN 'en,it'
                                WHEN r1 < 0.75 THEN 'it' WHEN r1 < 0.85 THEN 'es'
                                WHEN r1 < 0.95 THEN 'en,es' ELSE '' END, ','),
           string_to_array(CASE WHEN r2 < 0.30 THEN 'chat,email' WHEN r2 < 0.50 THEN 'chat'
                                WHEN r2 < 0.65 THEN 'twitter,chat' WHEN r2 < 0.80 THEN 'email'
                                WHEN r2 < 0.90 THEN 'whatsapp,chat'
                                ELSE 'twitter,whatsapp,email' END, ','),
           string_to_array(CASE WHEN r3 < 0.80 THEN '' WHEN r3 < 0.88 THEN 'billing'
                                WHEN r3 < 0.94 THEN 'technical' WHEN r3 < 0.97 THEN 'sales,refund'
                                ELSE 'legal' END, ','),
           'online', now() - interval '2 hours', now(), now() - r4 * interval '30 minutes'
    FROM (SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4
          FROM generate_series(0, :agents - 1) AS i) AS s
    """,
    # Everyone full: ``capacity`` real assigned conversations on each of their channels.
    """
    INSERT INTO assignment.conversations (id, customer_id, status, channel, language, team,
                                          agent_id, priority, band_rank, sequence, assigned_at)
    SELECT gen_random_uuid(), gen_random_uuid(), 'assigned', ch, a.languages[1], a.team, a.id,
           40, 2, 1, now() - random() * interval '1 hour'
    FROM assignment.agents AS a, unnest(a.channels) AS ch, generate_series(1, a.capacity) AS k
    """,
    """
    UPDATE assignment.agents AS a
    SET active = (SELECT jsonb_object_agg(ch, a.capacity) FROM unnest(a.channels) AS ch),
        active_count = a.capacity * cardinality(a.channels),
        load = cardinality(a.channels)::float
    """,
    # The queue: bands 4 (5%), 3 (20%), 2 (50%), 1 (25%); deadlines from an hour ago (breached)
    # to five hours ahead, half the low ones without one; waiting up to four hours; a fifth for
    # any team; a few widened, reserved for a last owner or kept from one agent.
    """
    INSERT INTO assignment.conversations (id, customer_id, status, channel, account, language,
                                          topic, team, priority, band_rank, sla_deadline,
                                          queue_deadline, queued_at, widen_at, widened,
                                          reserved_for, reserved_until, avoid_agent_id, sequence)
    SELECT gen_random_uuid(), gen_random_uuid(), 'queued', channel,
           CASE WHEN team IS NULL THEN NULL ELSE 'x:brand-' || substr(team, 6) END,
           language, topic, team,
           (band - 1) * 25 + r_priority * 25, band,
           deadline,
           -- ours' queue deadline (Rules.queue_deadline, the benchmark's rules): the SLA
           -- deadline, at most the longest wait after queueing, less the priority head start
           CASE WHEN deadline IS NOT NULL
                THEN least(deadline, queued_at + :longest_wait_s * interval '1 second')
                     - ((band - 1) * 25 + r_priority * 25) * :head_start_s * interval '1 second' END,
           queued_at, CASE WHEN widened THEN NULL ELSE queued_at + interval '10 minutes' END,
           widened,
           CASE WHEN r_reserved < 0.01 THEN ids[1 + floor(r_agent * n)::int] END,
           CASE WHEN r_reserved < 0.01 THEN now() + interval '5 minutes' END,
           CASE WHEN r_reserved > 0.99 THEN ids[1 + floor(r_agent * n)::int] END,
           1
    FROM (SELECT CASE WHEN r1 < 0.45 THEN 'chat' WHEN r1 < 0.70 THEN 'email'
                      WHEN r1 < 0.90 THEN 'twitter' ELSE 'whatsapp' END AS channel,
                 CASE WHEN r2 < 0.60 THEN 'en' WHEN r2 < 0.80 THEN 'it'
                      WHEN r2 < 0.95 THEN 'es' END AS language,
                 CASE WHEN r3 < 0.30 THEN NULL WHEN r3 < 0.55 THEN 'technical'
                      WHEN r3 < 0.75 THEN 'billing' WHEN r3 < 0.85 THEN 'refund'
                      WHEN r3 < 0.93 THEN 'sales' ELSE 'legal' END AS topic,
                 CASE WHEN r4 < 0.20 THEN NULL
                      ELSE 'team-' || floor(r5 * :teams)::int END AS team,
                 CASE WHEN r6 < 0.05 THEN 4 WHEN r6 < 0.25 THEN 3 WHEN r6 < 0.75 THEN 2
                      ELSE 1 END AS band,
                 now() - r7 * interval '4 hours' AS queued_at, r8 < 0.05 AS widened,
                 CASE WHEN r6 >= 0.75 AND r9 < 0.5 THEN NULL
                      ELSE now() + (r10 * 6 - 1) * interval '1 hour' END AS deadline,
                 random() AS r_priority,
                 random() AS r_reserved, random() AS r_agent
          FROM (SELECT random() AS r1, random() AS r2, random() AS r3, random() AS r4,
                       random() AS r5, random() AS r6, random() AS r7, random() AS r8,
                       random() AS r9, random() AS r10
                FROM generate_series(1, :waiting)) AS r) AS q,
         (SELECT array_agg(id ORDER BY name) AS ids, count(*) AS n
          FROM assignment.agents) AS known
    """,
]


async def fill(db: Database, config: DecisionBenchConfig) -> None:
    params = {"seed": (config.seed % 1000) / 1000, "teams": config.teams, "agents": config.agents,
              "waiting": config.waiting, "capacity": CAPACITY,
              "longest_wait_s": RULES.longest_wait_s, "head_start_s": RULES.priority_head_start_s}
    async with db.transaction() as tx:
        for sql in _FILL:
            names = {name: value for name, value in params.items() if f":{name}" in sql}
            await tx.session.execute(text(sql), names)
    async with db.engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE assignment.agents"))
        await connection.execute(text("VACUUM ANALYZE assignment.conversations"))
        await connection.execute(text("VACUUM ANALYZE assignment.teams"))


# --------------------------------------------------------------------------------------------
# Brute force: the policy "ours" restated in Python over every row


_Q = conversations_table.c
_A = agents_table.c
_QUEUED_COLUMNS = (_Q.id, _Q.channel, _Q.team, _Q.language, _Q.topic, _Q.band_rank,
                   _Q.queue_deadline, _Q.queued_at, _Q.reserved_for, _Q.avoid_agent_id, _Q.widened)
_AGENT_COLUMNS = (_A.id, _A.team, _A.capacity, _A.channel_capacity, _A.languages, _A.channels,
                  _A.topics, _A.presence, _A.active, _A.load, _A.last_assigned_at)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def queued_rows(session: AsyncSession) -> dict[uuid.UUID, tuple[Any, ...]]:
    rows = await session.execute(select(*_QUEUED_COLUMNS).where(_Q.status == "queued"))
    return {row[0]: tuple(row) for row in rows}


def _has_room(active: dict[str, int], channel_capacity: dict[str, int], capacity: int,
              channel: str) -> bool:
    return active.get(channel, 0) < channel_capacity.get(channel, capacity)


def takeable(agent: Agent, row: tuple[Any, ...]) -> bool:
    """May ``agent`` take this queued conversation under "ours"?"""
    _, channel, team, language, topic, _, _, _, reserved_for, avoid, widened = row
    if agent.channels and channel not in agent.channels:
        return False
    if not _has_room(agent.active, agent.channel_capacity, agent.capacity, channel):
        return False
    if reserved_for is not None and reserved_for != agent.id:
        return False
    if avoid is not None and avoid == agent.id:
        return False
    if widened:
        return True
    return ((team is None or team == agent.team)
            and (not agent.languages or language is None or language in agent.languages)
            and (not agent.topics or topic is None or topic in agent.topics))


def queue_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Queue class DESC (urgent, high, then normal and low together), queue deadline ASC NULLS
    LAST (the SLA deadline, aged), band DESC, waiting since, id."""
    conversation_id, *_, band, due, queued_at, _, _, _ = row
    return (-queue_class(band), due is None, due or _EPOCH, -band, queued_at, conversation_id)


def best_conversation(agent: Agent, rows: dict[uuid.UUID, tuple[Any, ...]]) -> uuid.UUID | None:
    eligible = [row for row in rows.values() if takeable(agent, row)]
    return min(eligible, key=queue_key)[0] if eligible else None


async def best_agent(session: AsyncSession, need: Need) -> uuid.UUID | None:
    """The agent "ours" should pick for ``need``, computed over every agent row."""
    rows = (await session.execute(select(*_AGENT_COLUMNS))).all()

    def eligible(row: Any) -> bool:
        (agent_id, team, capacity, channel_capacity, languages, channels, topics, presence,
         active, _, _) = row
        return (presence == "online" and agent_id != need.avoid
                and _has_room(active, channel_capacity, capacity, need.channel)
                and (not channels or need.channel in channels)
                and (need.team is None or team == need.team)
                and (need.language is None or not languages or need.language in languages)
                and (need.topic is None or not topics or need.topic in topics))

    def order(row: Any) -> tuple[Any, ...]:
        agent_id, *_, topics, _, _, load, last_assigned_at = row
        specialist = need.topic is not None and need.topic in topics
        return (not specialist, load, last_assigned_at is not None,
                last_assigned_at or _EPOCH, agent_id)

    candidates = [row for row in rows if eligible(row)]
    return min(candidates, key=order)[0] if candidates else None


# --------------------------------------------------------------------------------------------
# The plan of the queue query


@contextmanager
def capturing(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL and parameters the driver is given while the block runs."""
    captured: list[tuple[str, Any]] = []

    def listener(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                 executemany: bool) -> None:
        captured.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        yield captured
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listener)


@contextmanager
def statement_times(engine: AsyncEngine) -> Iterator[list[tuple[str, float]]]:
    """(kind of statement, seconds) of each statement run while the block runs, in order."""
    times: list[tuple[str, float]] = []
    started: list[float] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        started.append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
              executemany: bool) -> None:
        times.append((_kind(statement), time.perf_counter() - started.pop()))

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    try:
        yield times
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)
        event.remove(engine.sync_engine, "after_cursor_execute", after)


def _kind(statement: str) -> str:
    sql = " ".join(statement.split())
    if "pg_advisory_xact_lock" in sql:
        return "lock_queue"
    if sql.startswith("UPDATE assignment.agents"):
        return "claim (UPDATE agents)"
    if sql.startswith("UPDATE assignment.conversations"):
        return "update conversation"
    if sql.startswith("INSERT INTO assignment.outbox"):
        return "outbox insert"
    if "FROM assignment.conversations" in sql and "FOR UPDATE" in sql:
        return "next_for"
    if "FROM assignment.agents" in sql:
        return "get_agent"
    return sql[:40]


def breakdown(decisions: list[list[tuple[str, float]]],
              totals: list[float]) -> list[tuple[str, float]]:
    """Median milliseconds of each step (numbered by occurrence) over the decisions; the rest of
    each decision's time (commit, pool, Python) as one more step."""
    steps: dict[str, list[float]] = {}
    rest: list[float] = []
    for statements, total in zip(decisions, totals, strict=True):
        seen: dict[str, int] = {}
        for kind, seconds in statements:
            seen[kind] = seen.get(kind, 0) + 1
            steps.setdefault(f"{kind} #{seen[kind]}", []).append(_ms(seconds))
        rest.append(total - _ms(sum(seconds for _, seconds in statements)))
    ordered = [(name, statistics.median(values)) for name, values in steps.items()]
    return [*ordered, ("commit + pool + Python", statistics.median(rest))]


async def explain(session: AsyncSession, statement: str, parameters: Any) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of one statement with its real parameters, summarised."""
    connection = await (await session.connection()).get_raw_connection()
    driver: Any = connection.driver_connection
    raw = await driver.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}",
                                *(parameters or ()))
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
    nodes: list[str] = []
    sorts: list[str] = []
    indexes: list[str] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        name = node["Node Type"]
        if "Index Name" in node:
            indexes.append(node["Index Name"])
            name += f" using {node['Index Name']}"
        if "Relation Name" in node and "Index Name" not in node:
            name += f" on {node['Relation Name']}"
        details = [f"rows {node.get('Actual Rows', '?')}"]
        if node.get("Rows Removed by Filter"):
            details.append(f"removed by filter {node['Rows Removed by Filter']}")
        if "Sort" in node["Node Type"]:
            sorts.append(f"{node['Node Type']} ({node.get('Sort Method', 'incremental')}, "
                         f"keys {', '.join(node.get('Sort Key', []))})")
            if node.get("Sort Method"):
                details.append(node["Sort Method"])
        nodes.append(f"{'  ' * depth}{name} [{', '.join(details)}]")
        for child in node.get("Plans", []):
            walk(child, depth + 1)

    walk(plan["Plan"], 0)
    top = plan["Plan"]
    return {"execution_ms": plan["Execution Time"], "planning_ms": plan["Planning Time"],
            "shared_hit": top.get("Shared Hit Blocks", 0),
            "shared_read": top.get("Shared Read Blocks", 0),
            "indexes": indexes, "sorts": sorts, "tree": nodes,
            "uses_queue_priority": QUEUE_INDEX in indexes}


async def _explain_next_for(db: Database, agent_id: uuid.UUID) -> dict[str, Any]:
    async with db.sessionmaker() as session:
        repo = AssignmentRepository(session)
        agent = await repo.get_agent(agent_id)
        assert agent is not None
        with capturing(db.engine) as captured:
            await repo.next_for(agent, RULES.policy, RULES.channels)
        queries = [(sql, params) for sql, params in captured if "FOR UPDATE" in sql]
        # No query at all: next_for knew without asking the database (nothing to explain).
        summary = await explain(session, *queries[-1]) if queries else {}
        await session.rollback()
    return summary


# --------------------------------------------------------------------------------------------
# The decisions


def _ms(seconds: float) -> float:
    return 1000 * seconds


def _sampled(count: int, verify: int) -> set[int]:
    """Indexes of the ``verify`` decisions (of ``count``) checked by brute force, spread out."""
    if verify <= 0 or count <= 0:
        return set()
    if verify >= count:
        return set(range(count))
    step = count / verify
    return {int(i * step) for i in range(verify)}


async def _free_slot(tx_session: AsyncSession, agent_id: uuid.UUID, rng: random.Random,
                     now: datetime) -> str | None:
    """Resolve one of the agent's conversations (untimed): a slot on that channel frees up."""
    repo = AssignmentRepository(tx_session)
    agent = await repo.get_agent(agent_id)
    if agent is None:
        return None
    held = sorted(channel for channel, count in agent.active.items() if count > 0)
    if not held:
        return None
    channel = rng.choice(held)
    await repo.lock_queue()  # before the agent row, as resolving does
    await repo.release(agent_id, channel)
    owned = select(_Q.id).where(_Q.status == "assigned", _Q.agent_id == agent_id,
                                _Q.channel == channel).order_by(_Q.assigned_at).limit(1)
    await tx_session.execute(update(conversations_table).where(_Q.id == owned.scalar_subquery())
                             .values(status="resolved", resolved_at=now, reply_due_at=None))
    return channel


async def _agent_gets_room(db: Database, config: DecisionBenchConfig, rng: random.Random,
                           agent_ids: list[uuid.UUID], result: DecisionBenchResult) -> None:
    checks = _sampled(config.decisions, config.verify)
    rows: dict[uuid.UUID, tuple[Any, ...]] = {}
    if checks:
        async with db.sessionmaker() as session:
            rows = await queued_rows(session)
    whole: list[float] = []
    choice: list[float] = []
    steps: list[list[tuple[str, float]]] = []
    for n in range(config.decisions):
        agent_id = rng.choice(agent_ids)
        async with db.transaction() as tx:
            channel = await _free_slot(tx.session, agent_id, rng, datetime.now(UTC))
        if channel is None:
            continue
        # The choice alone, rolled back: exactly the query drain_for runs first.
        async with db.sessionmaker() as session:
            repo = AssignmentRepository(session)
            agent = await repo.get_agent(agent_id)
            assert agent is not None
            started = time.perf_counter()
            chosen = await repo.next_for(agent, RULES.policy, RULES.channels)
            choice.append(_ms(time.perf_counter() - started))
            await session.rollback()
        if n in checks:
            expected = best_conversation(agent, rows)
            result.checked += 1
            if expected != (chosen.id if chosen else None):
                result.mismatches.append(f"agent room #{n}: next_for chose "
                                         f"{chosen.id if chosen else None}, brute force {expected}")
        # The whole decision: choose, claim the slot, assign, outbox, commit.
        with statement_times(db.engine) as statements:
            started = time.perf_counter()
            async with db.transaction() as tx:
                assigned = await drain_for(tx, agent_id, RULES, datetime.now(UTC))
            whole.append(_ms(time.perf_counter() - started))
        steps.append(statements)
        got = assigned[0].conversation_id if assigned else None
        if len(assigned) > 1 or got != (chosen.id if chosen else None):
            result.mismatches.append(f"agent room #{n}: drain_for assigned "
                                     f"{[a.conversation_id for a in assigned]}, choice was "
                                     f"{chosen.id if chosen else None}")
        result.room_decisions.append((agent_id, channel, got))
        if got is not None:
            rows.pop(got, None)
    result.timings_ms["agent_room"] = whole
    result.timings_ms["agent_room_choice"] = choice
    if whole:
        result.steps["agent_room"] = breakdown(steps, whole)
    result.outcomes["agent_room_assigned"] = sum(1 for *_, got in result.room_decisions if got)


def _new_event(rng: random.Random, teams: int, now: datetime) -> MessageScored:
    channel = rng.choices(CHANNELS, weights=(45, 25, 20, 10))[0]
    language = rng.choices([*LANGUAGES, None], weights=(60, 20, 15, 5))[0]
    topic = rng.choices([None, *TOPICS], weights=(30, 25, 20, 10, 8, 7))[0]
    account = None if rng.random() < 0.2 else f"x:brand-{rng.randrange(teams)}"
    rank = rng.choices([4, 3, 2, 1], weights=(5, 20, 50, 25))[0]
    priority = (rank - 1) * 25 + rng.random() * 24.9
    return MessageScored(
        message_id=uuid.uuid4(), conversation_id=uuid.uuid4(), customer_id=uuid.uuid4(),
        channel=channel, sent_at=now, sentiment=Sentiment(label="negative", score=-0.4),
        score=priority, breakdown=(), conversation_priority=priority, scorer="bench",
        language=language, account=account,
        intent=Intent(name=topic, confidence=0.9) if topic else None,
        conversation_band=BAND_OF_RANK[rank],  # type: ignore[arg-type]
        sla_deadline=now + timedelta(minutes=rng.randrange(15, 240)),
    )


async def _new_conversations(db: Database, config: DecisionBenchConfig, rng: random.Random,
                             count: int, label: str, result: DecisionBenchResult) -> None:
    checks = _sampled(count, config.verify)
    whole: list[float] = []
    choice: list[float] = []
    outcomes: dict[str, int] = {}
    for n in range(count):
        now = datetime.now(UTC)
        message = _new_event(rng, config.teams, now)
        async with db.sessionmaker() as session:
            repo = AssignmentRepository(session)
            team = await repo.team_for_account(message.account) or RULES.default_team
            need = Need(channel=message.channel, team=team, language=message.language,
                        topic=message.intent.name if message.intent else None)
            expected = await best_agent(session, need) if n in checks else None
            started = time.perf_counter()
            chosen = await repo.claim_best(need, RULES.policy, now, wait=False)
            choice.append(_ms(time.perf_counter() - started))
            await session.rollback()
        if n in checks:
            result.checked += 1
            if expected != (chosen.id if chosen else None):
                result.mismatches.append(f"{label} #{n}: claim_best chose "
                                         f"{chosen.id if chosen else None}, brute force {expected}")
        started = time.perf_counter()
        async with db.transaction() as tx:
            routing = await service.route_scored_message(tx, message, RULES, now)
        whole.append(_ms(time.perf_counter() - started))
        outcomes[routing.outcome] = outcomes.get(routing.outcome, 0) + 1
        if routing.agent_id != (chosen.id if chosen else None):
            result.mismatches.append(f"{label} #{n}: routed to {routing.agent_id}, choice was "
                                     f"{chosen.id if chosen else None}")
        result.new_decisions.append((message.conversation_id, routing.agent_id))
    result.timings_ms[label] = whole
    result.timings_ms[f"{label}_choice"] = choice
    for outcome, times in outcomes.items():
        result.outcomes[f"{label}_{outcome}"] = times


async def measure(db: Database, config: DecisionBenchConfig) -> DecisionBenchResult:
    """Fill ``db`` (migrated, empty) and time the decisions; see the module's docstring."""
    result = DecisionBenchResult(config=config, summary={})
    started = time.perf_counter()
    await fill(db, config)
    result.fill_s = time.perf_counter() - started
    rng = random.Random(config.seed)
    async with db.sessionmaker() as session:
        agent_ids = sorted((await session.execute(select(_A.id))).scalars())

    # The plan of the queue query for an agent with one free slot (the choice), and for a full
    # agent (what drain_for asks once more after filling the slot, to learn it is full).
    probe = rng.choice(agent_ids)
    async with db.transaction() as tx:
        await _free_slot(tx.session, probe, rng, datetime.now(UTC))
    result.plans["next_for_one_slot"] = await _explain_next_for(db, probe)
    async with db.transaction() as tx:
        await drain_for(tx, probe, RULES, datetime.now(UTC))
    result.plans["next_for_full_agent"] = await _explain_next_for(db, probe)

    await _agent_gets_room(db, config, rng, agent_ids, result)
    await _new_conversations(db, config, rng, config.new_while_full, "new_busy", result)
    async with db.transaction() as tx:
        for agent_id in rng.sample(agent_ids, min(config.freed_for_new, len(agent_ids))):
            await _free_slot(tx.session, agent_id, rng, datetime.now(UTC))
    await _new_conversations(db, config, rng, config.new_conversations, "new_room", result)
    result.summary = summarise(result)
    return result


def summarise(result: DecisionBenchResult) -> dict[str, Any]:
    t = result.timings_ms
    new_all = t.get("new_busy", []) + t.get("new_room", [])
    new_choice = t.get("new_busy_choice", []) + t.get("new_room_choice", [])
    summary: dict[str, Any] = {}

    def stats(prefix: str, values: list[float]) -> None:
        if values:
            summary[f"{prefix}_median_ms"] = round(statistics.median(values), 3)
            summary[f"{prefix}_p90_ms"] = round(nearest_rank(values, 0.90), 3)
            summary[f"{prefix}_p99_ms"] = round(nearest_rank(values, 0.99), 3)

    stats("decision_agent_room", t.get("agent_room", []))
    stats("decision_choice", t.get("agent_room_choice", []))
    stats("decision_new_conversation", new_all)
    stats("decision_new_conversation_busy", t.get("new_busy", []))
    stats("decision_new_conversation_room", t.get("new_room", []))
    stats("agent_choice", new_choice)
    plan = result.plans.get("next_for_one_slot", {})
    summary.update({
        "decision_agents": result.config.agents, "decision_waiting": result.config.waiting,
        "decision_next_for_plan_ms": plan.get("execution_ms"),
        "decision_next_for_uses_queue_priority": plan.get("uses_queue_priority"),
        "decision_next_for_full_agent_plan_ms":
            result.plans.get("next_for_full_agent", {}).get("execution_ms"),
        # drain_for's second look at the queue, made once the agent is full again.
        "decision_agent_room_second_next_for_median_ms": next(
            (round(ms, 3) for name, ms in result.steps.get("agent_room", []) if name == "next_for #2"),
            None),
        "decision_checked": result.checked, "decision_mismatches": len(result.mismatches),
    })
    return summary


def print_table(result: DecisionBenchResult) -> None:
    c, t = result.config, result.timings_ms
    print(f"\nAssignment decision benchmark, {c.agents} agents (all online and full, {CAPACITY} "
          f"per channel), {c.waiting} waiting conversations, policy 'ours', embedded PostgreSQL "
          f"(filled and analysed in {result.fill_s:.1f} s)")

    def line(label: str, values: list[float], extra: str = "") -> None:
        if values:
            print(f"  {label:<52} n={len(values):<4} median {statistics.median(values):7.2f} ms  "
                  f"p90 {nearest_rank(values, 0.90):7.2f} ms  p99 {nearest_rank(values, 0.99):7.2f} ms"
                  f"{extra}")

    o = result.outcomes
    line("agent gets room: drain_for + commit", t.get("agent_room", []),
         f"  assigned {o.get('agent_room_assigned', 0)}")
    line("agent gets room: choice only (next_for)", t.get("agent_room_choice", []))
    if "agent_room" in result.steps:
        print("    drain_for step by step (medians): " + ", ".join(
            f"{name} {ms:.2f}" for name, ms in result.steps["agent_room"]) + " ms")
    line("new conversation, all busy: route + commit", t.get("new_busy", []),
         f"  queued {o.get('new_busy_queued', 0)} assigned {o.get('new_busy_assigned', 0)}")
    line("new conversation, all busy: choice (claim_best)", t.get("new_busy_choice", []))
    freed = min(c.freed_for_new, c.agents)
    line(f"new conversation, {freed} slots freed: route + commit", t.get("new_room", []),
         f"  assigned {o.get('new_room_assigned', 0)} queued {o.get('new_room_queued', 0)}")
    line(f"new conversation, {freed} slots freed: choice", t.get("new_room_choice", []))
    verdict = "all match" if not result.mismatches else f"{len(result.mismatches)} MISMATCHES"
    print(f"  brute-force checks: {result.checked} decisions, {verdict}")
    for mismatch in result.mismatches[:5]:
        print(f"    {mismatch}")
    for name, plan in result.plans.items():
        if not plan:
            print(f"  next_for ({name.removeprefix('next_for_').replace('_', ' ')}): no query run")
            continue
        print(f"  EXPLAIN ANALYZE next_for ({name.removeprefix('next_for_').replace('_', ' ')}): "
              f"{plan['execution_ms']:.2f} ms (planning {plan['planning_ms']:.2f} ms), buffers hit "
              f"{plan['shared_hit']} read {plan['shared_read']}, {QUEUE_INDEX} "
              f"{'used' if plan['uses_queue_priority'] else 'NOT used'}"
              + (f", sorts: {'; '.join(plan['sorts'])}" if plan["sorts"] else ""))
        for node in plan["tree"]:
            print(f"      {node}")


# --------------------------------------------------------------------------------------------
# Running it


def settings_for(database_url: str) -> ServiceSettings:
    return ServiceSettings(database_url=SecretStr(database_url), log_level="WARNING")


async def run(database_url: str, config: DecisionBenchConfig) -> DecisionBenchResult:
    """Migrate assignment into the (empty) database at ``database_url`` and measure."""
    settings = settings_for(database_url)
    await migrate([COMPONENT], settings)
    engine = create_engine(settings)
    try:
        db = Database(engine, COMPONENT.metadata, source="sportello/assignment")
        return await measure(db, config)
    finally:
        await engine.dispose()


def run_standalone(config: DecisionBenchConfig) -> DecisionBenchResult:
    """On a private embedded PostgreSQL in a temporary directory, removed afterwards."""
    from sportello_deploy.postgres import start_postgres

    configure_logging("WARNING", stream=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="sportello-decision-bench-"))
    server = None
    try:
        server = start_postgres(work / "postgres")
        url = server.create_database("decision_bench")
        result = asyncio.run(run(url, config))
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print_table(result)
    return result


def add_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    defaults = DecisionBenchConfig()
    parser.add_argument(f"--{prefix}agents", type=int, default=defaults.agents)
    parser.add_argument(f"--{prefix}waiting", type=int, default=defaults.waiting)
    parser.add_argument(f"--{prefix}teams", type=int, default=defaults.teams)
    parser.add_argument("--decisions", type=int, default=defaults.decisions)
    parser.add_argument("--new-while-full", type=int, default=defaults.new_while_full)
    parser.add_argument("--freed-for-new", type=int, default=defaults.freed_for_new)
    parser.add_argument("--new-conversations", type=int, default=defaults.new_conversations)
    parser.add_argument("--verify", type=int, default=defaults.verify)


def config_from(args: argparse.Namespace, prefix: str = "") -> DecisionBenchConfig:
    key = prefix.replace("-", "_")
    return DecisionBenchConfig(agents=getattr(args, f"{key}agents"),
                               waiting=getattr(args, f"{key}waiting"),
                               teams=getattr(args, f"{key}teams"), decisions=args.decisions,
                               new_while_full=args.new_while_full,
                               freed_for_new=args.freed_for_new,
                               new_conversations=args.new_conversations, verify=args.verify)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sportello_deploy.decision_bench")
    add_arguments(parser)
    args = parser.parse_args()
    result = run_standalone(config_from(args))
    print(json.dumps(result.summary))


if __name__ == "__main__":
    main()
