"""The pool and the driver against in-memory routers: the run is honest bookkeeping of what the router
decides, and the agents behave the same whatever it decides."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from sportello_deploy.simulate.calibration import Lognormal
from sportello_deploy.simulate.engine import Engine, EngineConfig
from sportello_deploy.simulate.metrics import RunRecords, summarise
from sportello_deploy.simulate.pool import PoolConfig
from sportello_deploy.simulate.protocol import Router
from sportello_deploy.simulate.traffic import Traffic
from tests.deploy.simulate.fake_router import FakeRouter, StealingRouter
from tests.deploy.simulate.support import T0, conversation, steady_team, traffic_of
from tests.deploy.simulate.test_traffic import write_threads


async def simulate(load: Traffic, team: PoolConfig, router: Router | None = None,
                   **config: float) -> tuple[RunRecords, FakeRouter]:
    used = router or FakeRouter()
    assert isinstance(used, FakeRouter)
    return await Engine(load, team, used, EngineConfig(**config)).run(), used


def busy_day(n: int = 60) -> Traffic:
    """Bursty traffic with follow-ups, closing thanks and second messages before any reply."""
    return traffic_of(*(conversation(
        f"t{i}", (i % 20) * 40 + (i // 20) * 3 * 3600,
        [[0], [120, 150], [60]] if i % 3 == 0 else [[0, 90]] if i % 3 == 1 else [[0], [300]],
        last_answered=i % 2 == 0, customer=f"c{i % 45}") for i in range(n)))


async def test_every_conversation_is_answered_and_resolved_when_agents_suffice() -> None:
    load = busy_day()
    records, router = await simulate(load, steady_team(30))
    summary = summarise("fifo", records)
    assert summary["unanswered"] == 0
    assert all(r.first_reply_at is not None and r.first_reply_at > r.arrival for r in records.conversations)
    assert router.resolved == {r.conversation_id for r in records.conversations}
    assert records.end < T0 + timedelta(days=1)  # finished: did not run to the horizon
    assert summary["reassignments"] == 0  # a FIFO router never moves anything


async def test_no_agent_ever_holds_more_than_its_capacity() -> None:
    records, _ = await simulate(busy_day(120), steady_team(3, capacity=2))
    assert all(a.most_held <= 2 for a in records.agents)
    assert max(a.most_held for a in records.agents) == 2  # the queue did fill them up


async def test_an_agent_who_goes_offline_keeps_their_conversations_in_a_fifo_router() -> None:
    # Two agents on 12-hour shifts, one after the other; the first is given B 15 min before going home.
    team = steady_team(2, shift_h=12.0, handling=Lognormal(30 * 60, 0.0))
    load = traffic_of(conversation("a", 0, [[0]]), conversation("b", 11.75 * 3600, [[0]]))
    records, _ = await simulate(load, team)
    b = next(r for r in records.conversations if r.arrival > T0)
    # 15 minutes of the reply done before the shift ended, the other 15 when the same agent is back.
    assert b.first_reply_at == T0 + timedelta(hours=24, minutes=15)
    assert b.reassignments == 0


async def test_a_router_that_moves_conversations_from_absent_agents_is_honoured() -> None:
    team = steady_team(2, shift_h=12.0, handling=Lognormal(30 * 60, 0.0))
    load = traffic_of(conversation("a", 0, [[0]]), conversation("b", 11.75 * 3600, [[0]]))
    records, _ = await simulate(load, team, StealingRouter())
    b = next(r for r in records.conversations if r.arrival > T0)
    assert b.reassignments == 1
    # The second agent logs in at 12:00, takes it on the next tick and starts over: 30 minutes.
    assert T0 + timedelta(hours=12, minutes=30) <= b.first_reply_at <= T0 + timedelta(hours=12, minutes=31)
    assert sum(a.lost_work_s for a in records.agents) == pytest.approx(15 * 60)
    assert summarise("stealing", records)["reassignment_reasons"] == {"away": 1}


async def test_agents_behave_the_same_whatever_the_router_does() -> None:
    team = steady_team(6, breaks_per_shift_hour=0.6, silent_break_share=0.3, early_logoff_share=0.3)
    load = busy_day(90)
    _, fifo = await simulate(load, team, FakeRouter(), drain_h=6)
    _, stealing = await simulate(load, team, StealingRouter(), drain_h=6)
    horizon = min(fifo.calls[-1][1], stealing.calls[-1][1])
    presence = [[(name, at) for name, at in r.calls if name == "set_presence" and at <= horizon]
                for r in (fifo, stealing)]
    assert presence[0] == presence[1]
    assert len(presence[0]) > 6


async def test_the_same_run_twice_gives_the_same_result() -> None:
    team = steady_team(6, breaks_per_shift_hour=0.6, silent_break_share=0.3, early_logoff_share=0.3,
                       handling=Lognormal(300, 0.7), speed_sigma=0.3)
    first, _ = await simulate(busy_day(90), team)
    second, _ = await simulate(busy_day(90), team)
    assert summarise("x", first) == summarise("x", second)


async def test_follow_ups_arrive_after_the_simulated_reply_by_the_customers_real_delay() -> None:
    load = traffic_of(conversation("a", 0, [[0], [600]]))
    records, router = await simulate(load, steady_team(1))
    reply = next(at for name, at in router.calls if name == "agent_reply")
    messages = [at for name, at in router.calls if name == "customer_message"]
    assert messages == [T0, reply + timedelta(seconds=600)]
    assert reply == T0 + timedelta(seconds=300)  # the fixed handling time
    assert len(records.conversations) == 1


async def test_a_customer_coming_back_after_the_pending_timeout_opens_a_new_conversation() -> None:
    load = traffic_of(conversation("a", 0, [[0], [7200]]))
    records, router = await simulate(load, steady_team(1), pending_timeout_s=3600)
    assert len(records.conversations) == 2
    first, second = records.conversations
    assert first.conversation_id != second.conversation_id
    assert second.arrival == first.first_reply_at + timedelta(seconds=7200)  # type: ignore[operator]
    resolves = [at for name, at in router.calls if name == "resolve"]
    assert resolves[0] == first.first_reply_at + timedelta(seconds=3600)  # type: ignore[operator]


async def test_a_closing_thanks_is_resolved_without_a_reply_but_a_first_message_always_gets_one() -> None:
    thanks = conversation("a", 0, [[0], [60]], last_answered=False)
    ignored = conversation("b", 10, [[0]], last_answered=False)  # the brand never answered it in reality
    records, router = await simulate(traffic_of(thanks, ignored), steady_team(1))
    assert [name for name, _ in router.calls].count("agent_reply") == 2  # one each
    assert all(r.first_reply_at is not None for r in records.conversations)
    assert len(router.resolved) == 2


async def test_a_second_message_before_the_reply_is_answered_by_the_same_reply() -> None:
    load = traffic_of(conversation("a", 0, [[0, 100]]))
    _, router = await simulate(load, steady_team(1))
    assert [name for name, _ in router.calls].count("agent_reply") == 1


async def test_an_understaffed_run_stops_at_the_horizon_and_counts_the_unanswered() -> None:
    load = busy_day(60)
    records, _ = await simulate(load, steady_team(3, capacity=1, handling=Lognormal(3600, 0.0)),
                                drain_h=1)
    summary = summarise("tiny", records)
    assert records.end == max(c.arrival for c in load.conversations) + timedelta(hours=1)
    assert summary["unanswered"] > 0
    assert summary["conversations"] == 60


async def test_a_run_from_a_csv_end_to_end(tmp_path: Path) -> None:
    from sportello_deploy.simulate import traffic

    load = traffic.from_csv(write_threads(tmp_path / "threads.csv"))
    records, router = await simulate(load, steady_team(3))
    assert summarise("fifo", records)["unanswered"] == 0
    assert not router.queue


class NewestFirstRouter(FakeRouter):
    """A tool that lists an agent's conversations newest first."""

    async def work_order(self, agent_id: uuid.UUID,
                         conversation_ids: Sequence[uuid.UUID]) -> list[uuid.UUID] | None:
        arrived = {cid: n for n, cid in enumerate(self.owner)}  # the order the router first saw them
        return sorted(conversation_ids, key=lambda cid: -arrived[cid])


async def test_agents_answer_in_the_order_their_tool_lists_and_oldest_first_without_one() -> None:
    load = traffic_of(*(conversation(key, at_s, [[0]]) for key, at_s in (("a", 0), ("b", 10), ("c", 20))))
    team = steady_team(1, capacity=3)

    def answered(records: RunRecords) -> list[float]:
        ordered = sorted(records.conversations, key=lambda r: r.arrival)
        return [(r.first_reply_at - T0).total_seconds() for r in ordered if r.first_reply_at]

    oldest_first, _ = await simulate(load, team)
    listed, _ = await simulate(load, team, NewestFirstRouter())
    # 300 s per reply, 60 s to wrap up each. Oldest first: a, b, c.
    assert answered(oldest_first) == [300, 660, 1020]
    # The tool's order: a was already in hand when b and c came; then c before b.
    assert answered(listed) == [300, 1020, 660]
