"""The run's figures from hand-built records with answers worked out by hand."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from sportello_deploy.simulate.metrics import (
    AgentRecord,
    ConversationRecord,
    RunRecords,
    summarise,
    summarise_pooled,
    top_decile,
)
from tests.deploy.simulate.support import T0


def record(arrival_s: float, reply_s: float | None, *, priority: float = 50.0,
           deadline_s: float | None = 600.0) -> ConversationRecord:
    return ConversationRecord(
        conversation_id=uuid.uuid4(), arrival=T0 + timedelta(seconds=arrival_s), priority=priority, band="normal",
        deadline=None if deadline_s is None else T0 + timedelta(seconds=arrival_s + deadline_s),
        first_reply_at=None if reply_s is None else T0 + timedelta(seconds=arrival_s + reply_s))


def agent(busy_s: float, online_s: float) -> AgentRecord:
    return AgentRecord(agent_id=uuid.uuid4(), busy_s=busy_s, online_s=online_s, most_held=1, capacity=7)


def run(conversations: list[ConversationRecord], agents: list[AgentRecord] | None = None,
        end_s: float = 10_000) -> RunRecords:
    return RunRecords(conversations=conversations, agents=agents or [agent(1, 2)], start=T0,
                      end=T0 + timedelta(seconds=end_s))


def test_frt_percentiles_interpolate_between_conversations() -> None:
    summary = summarise("p", run([record(0, frt) for frt in (100, 200, 300, 400, 500)]))
    assert summary["frt_p50_s"] == 300
    assert summary["frt_p90_s"] == pytest.approx(460)  # 400 + 0.6 * (500 - 400)


def test_an_unanswered_conversation_counts_until_the_end_and_misses_its_sla() -> None:
    answered, starved = record(0, 100), record(1_000, None)
    summary = summarise("p", run([answered, starved], end_s=5_000))
    assert summary["unanswered"] == 1
    assert summary["conversations"] == 2
    assert summary["frt_p90_s"] == pytest.approx(100 + 0.9 * (4_000 - 100))
    assert summary["sla_hit"] == 0.5


def test_sla_hit_compares_the_first_reply_with_the_deadline_given_at_arrival() -> None:
    on_time, exactly, late = record(0, 599), record(0, 600), record(0, 601)
    assert summarise("p", run([on_time, exactly, late]))["sla_hit"] == pytest.approx(2 / 3, abs=1e-4)


def test_conversations_without_a_deadline_are_left_out_of_sla_rates_only() -> None:
    summary = summarise("p", run([record(0, 10), record(0, 10_000, deadline_s=None)]))
    assert summary["sla_hit"] == 1.0
    assert summary["sla_conversations"] == 1
    assert summary["frt_p90_s"] > 9_000


def test_top_decile_takes_everything_at_or_above_the_90th_percentile_ties_included() -> None:
    records = [record(0, 0, priority=p) for p in (10, 20, 30, 40, 50, 60, 70, 80, 90, 90, 90)]
    top = top_decile(records)
    assert [r.priority for r in top] == [90, 90, 90]


def test_top_decile_sla_is_measured_on_the_highest_priority_at_arrival() -> None:
    calm = [record(0, 0, priority=10) for _ in range(9)]  # all on time
    urgent = record(0, 5_000, priority=95)  # late
    summary = summarise("p", run([*calm, urgent]))
    assert summary["top_decile_conversations"] == 1
    assert summary["top_decile_sla_hit"] == 0.0
    assert summary["sla_hit"] == 0.9
    assert summary["frt_top_decile_p90_s"] == 5_000


def test_utilisation_is_busy_over_online_summed_over_agents() -> None:
    summary = summarise("p", run([record(0, 1)], [agent(busy_s=1_800, online_s=3_600), agent(0, 7_200)]))
    assert summary["utilisation"] == 0.1667  # 1800 / 10800, not the mean of 0.5 and 0
    assert summary["agents"] == 2


def test_reassigned_counts_conversations_and_reassignments_counts_moves() -> None:
    moved_twice, moved_once, kept = record(0, 1), record(0, 1), record(0, 1)
    moved_twice.reassignments, moved_once.reassignments = 2, 1
    summary = summarise("p", run([moved_twice, moved_once, kept]))
    assert (summary["reassigned"], summary["reassignments"]) == (2, 3)


def test_a_run_without_conversations_is_an_error() -> None:
    with pytest.raises(ValueError, match="no conversations"):
        summarise("p", run([]))


def test_pooled_runs_count_every_conversation_each_to_its_own_run_s_end() -> None:
    # Seed 1: answered in 100 s; seed 2: one answered in 300 s, one never (its run ends at 1,000 s).
    first = run([record(0, 100)], [agent(10, 100)])
    second = run([record(0, 300), record(0, None)], [agent(30, 100)], end_s=1_000)
    pooled = summarise_pooled("p", [(1, first), (2, second)])
    assert pooled["conversations"] == 3
    assert pooled["frt_p50_s"] == 300
    assert pooled["frt_p90_s"] == pytest.approx(300 + 0.8 * (1_000 - 300))
    assert pooled["sla_hit"] == pytest.approx(2 / 3, abs=1e-4)
    assert pooled["utilisation"] == 0.2  # 40 s busy of 200 s online
    assert pooled["seeds"] == [1, 2]
    assert [r["seed"] for r in pooled["runs"]] == [1, 2]
    assert pooled["runs"][0]["frt_p90_s"] == 100


def test_pooled_top_decile_is_each_run_s_own() -> None:
    # Each run's top decile is its own highest priority: 90 in the first, 40 in the second (where
    # 90 would leave it empty); one of the two is answered in time.
    first = run([record(0, 10, priority=p) for p in (10, 90)])
    second = run([record(0, 10, priority=10), record(0, 900, priority=40)])
    pooled = summarise_pooled("p", [(1, first), (2, second)])
    assert pooled["top_decile_conversations"] == 2
    assert pooled["top_decile_sla_hit"] == 0.5
