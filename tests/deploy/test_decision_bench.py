"""The decision benchmark at a tiny size on the session's PostgreSQL: it must measure real decisions
(conversations really assigned, best first, no agent past capacity), whatever the timings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from sportello.contracts import ConversationAssigned, ConversationQueued
from sportello_assignment.component import COMPONENT
from sportello_assignment.tables import agents, conversations, outbox, teams
from sportello_deploy.decision_bench import CAPACITY, DecisionBenchConfig, run
from tests.support.database import migrated_database

CONFIG = DecisionBenchConfig(agents=20, waiting=200, teams=3, decisions=20, new_while_full=5,
                             freed_for_new=10, new_conversations=10, verify=1000, seed=3)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _may_take(agent: Any, row: Any) -> bool:
    """The test's own reading of policy "ours" for a queued conversation (room aside)."""
    if agent.channels and row.channel not in agent.channels:
        return False
    if row.reserved_for not in (None, agent.id) or row.avoid_agent_id == agent.id:
        return False
    return row.widened or (
        row.team in (None, agent.team)
        and (not agent.languages or row.language is None or row.language in agent.languages)
        and (not agent.topics or row.topic is None or row.topic in agent.topics))


def _rank(row: Any) -> tuple[Any, ...]:
    """Queue class (urgent, high, then normal and low together), queue deadline, band, wait, id."""
    return (-max(row.band_rank, 2), row.queue_deadline is None, row.queue_deadline or _EPOCH,
            -row.band_rank, row.queued_at, row.id)


async def test_decisions_assign_the_best_conversation_and_respect_capacity(
        fresh_database_url: str) -> None:
    result = await run(fresh_database_url, CONFIG)

    summary = result.summary
    assert summary["decision_agents"] == 20 and summary["decision_waiting"] == 200
    for key in ("decision_agent_room_median_ms", "decision_agent_room_p99_ms",
                "decision_choice_median_ms", "decision_new_conversation_median_ms",
                "agent_choice_median_ms"):
        assert summary[key] > 0
    # Every decision was checked against the brute-force choice over all rows, and agreed.
    assert result.mismatches == []
    assert result.checked == CONFIG.decisions + CONFIG.new_while_full + CONFIG.new_conversations
    assert len(result.room_decisions) == CONFIG.decisions
    assert len(result.new_decisions) == CONFIG.new_while_full + CONFIG.new_conversations
    assert result.plans["next_for_one_slot"]["execution_ms"] > 0

    async with migrated_database(COMPONENT, fresh_database_url) as db, db.transaction() as tx:
        agent_rows = {row.id: row for row in await tx.session.execute(select(agents))}
        rows = {row.id: row for row in await tx.session.execute(select(conversations))}
        team_of_account = {account: row.name for row in await tx.session.execute(select(teams))
                           for account in row.accounts}
        events = [dict(headers)["ce_type"]
                  for (headers,) in await tx.session.execute(select(outbox.c.headers))]

    # Capacity: no agent past 7 on a channel, and the counters match the conversations they hold.
    for agent in agent_rows.values():
        held: dict[str, int] = {}
        for row in rows.values():
            if row.status == "assigned" and row.agent_id == agent.id:
                held[row.channel] = held.get(row.channel, 0) + 1
        assert all(count <= CAPACITY for count in agent.active.values())
        assert {ch: n for ch, n in agent.active.items() if n} == held
        assert agent.active_count == sum(held.values())

    # "An agent gets room": the conversation went to that agent, on the channel freed, and nothing
    # still waiting from the start that the agent could take on that channel ranks before it.
    new_ids = {conversation_id for conversation_id, _ in result.new_decisions}
    old_waiting = [row for row in rows.values() if row.status == "queued" and row.id not in new_ids]
    assigned = [d for d in result.room_decisions if d[2] is not None]
    assert len(assigned) >= CONFIG.decisions // 2  # a tiny queue may have nothing for a specialist
    for agent_id, channel, conversation_id in result.room_decisions:
        agent = agent_rows[agent_id]
        better = [row for row in old_waiting if row.channel == channel and _may_take(agent, row)]
        if conversation_id is None:
            assert better == []
            continue
        taken = rows[conversation_id]
        assert (taken.status, taken.agent_id, taken.channel) == ("assigned", agent_id, channel)
        assert _may_take(agent, taken)
        assert all(_rank(row) > _rank(taken) for row in better)

    # "A new conversation arrives": assigned to an agent with the skills, or waiting.
    for conversation_id, agent_id in result.new_decisions:
        row = rows[conversation_id]
        if agent_id is None:
            assert row.status == "queued"
            continue
        agent = agent_rows[agent_id]
        assert (row.status, row.agent_id) == ("assigned", agent_id)
        assert row.team == team_of_account.get(row.account)
        assert _may_take(agent, row)
    assert any(agent_id is not None for _, agent_id in result.new_decisions[CONFIG.new_while_full:])

    # One event per decision in the outbox (and one for the plan's probe drain, if it assigned).
    assignments = sum(1 for *_, c in result.room_decisions if c) + sum(
        1 for _, a in result.new_decisions if a)
    assert events.count(ConversationAssigned.event_type) - assignments in (0, 1)
    assert events.count(ConversationQueued.event_type) == sum(
        1 for _, a in result.new_decisions if a is None)
