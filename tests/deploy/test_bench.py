"""``make bench``'s own arithmetic and outputs, and its raw Kafka reference and lag sampler on the
session's real broker. The full benchmark (a private broker, PostgreSQL and five services) is too
heavy for ``make test``: run ``make bench BENCH_ARGS="--quick --skip-decision"`` for that."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import OffsetAndMetadata

from sportello.contracts import AgentRef, ConversationAssigned, ConversationQueued, Envelope
from sportello_deploy import bench
from sportello_deploy.bench_kafka import raw_kafka_reference, record_size, sample_record
from sportello_deploy.bench_load import (
    GatewayProbe,
    ScheduleStats,
    StepOutcome,
    Tracker,
    closed_loop,
    open_loop,
    shows,
)
from sportello_deploy.bench_probes import (
    MACHINE_BUSY,
    CpuMeter,
    LagSampler,
    ProcStat,
    consumer_groups,
    cores_used,
    group_lag,
    kafka_broker_pid,
    parse_machine,
    parse_stat,
    postgres_pid,
    tree_ticks,
)
from sportello_deploy.bench_report import step_result, summary, table, write_outputs
from sportello_deploy.bench_stats import (
    HOPS,
    Posted,
    behind_schedule,
    due_time,
    hop_latencies,
    messages_for,
    output_rate,
    summarise_ms,
    throughput,
)

# --------------------------------------------------------------------------------------------
# Latency per hop


def test_each_hop_is_measured_between_its_own_two_ends() -> None:
    posted = [Posted("c1", "m1", due=9.0, started=10.0, finished=10.010),
              Posted("c2", "m2", due=10.0, started=10.5, finished=10.530),
              Posted("c3", "m3", due=11.0, started=11.0, finished=11.020)]
    scored = {"m1": 10.110, "m2": 10.730}  # m3 never scored
    assigned = {"c1": 10.310, "c2": 11.130, "other": 1.0}
    visible = {"c2": 11.230}  # only c2 was sampled on the gateway
    hops = hop_latencies(posted, scored, assigned, visible)
    assert hops["accept"] == pytest.approx([0.010, 0.030, 0.020])
    assert hops["score"] == pytest.approx([0.100, 0.200])
    assert hops["assign"] == pytest.approx([0.200, 0.400])
    assert hops["e2e"] == pytest.approx([0.310, 0.630])  # from POST start, not from due
    assert hops["visible"] == pytest.approx([0.100])
    assert hops["e2e_visible"] == pytest.approx([0.730])
    assert set(hops) == set(HOPS)


def test_percentiles_are_nearest_rank_in_milliseconds() -> None:
    values = [i / 1000 for i in range(100, 0, -1)]  # 1..100 ms, unordered
    stats = summarise_ms(values)
    assert stats == {"n": 100, "p50": 51.0, "p95": 95.0, "p99": 99.0, "max": 100.0}
    assert summarise_ms([]) == {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}


def test_throughput_is_count_over_the_span() -> None:
    assert throughput(100, 10.0, 12.0) == 50.0
    assert throughput(0, 10.0, 12.0) == 0.0
    assert throughput(5, None, 12.0) == 0.0
    assert throughput(5, 12.0, 12.0) == 0.0
    assert output_rate([3.0, 1.0, 2.0, 5.0]) == 0.75  # 3 intervals over 4 s
    assert output_rate([1.0]) == 0.0


# --------------------------------------------------------------------------------------------
# The schedule


def test_fixed_rate_schedule_math() -> None:
    assert messages_for(500, 20) == 10_000
    assert messages_for(20, 0.01) == 1
    assert [due_time(100.0, 4, i) for i in range(5)] == [100.0, 100.25, 100.5, 100.75, 101.0]
    assert behind_schedule([0.0, 0.019, 0.021, 0.5, -0.001], tolerance=0.02) == 2


async def test_open_loop_paces_sends_and_never_sends_early() -> None:
    starts: dict[int, tuple[float, float]] = {}

    async def send(i: int, due: float) -> None:
        starts[i] = (time.perf_counter(), due)

    stats = await open_loop(send, rate=200, count=40, max_in_flight=8, tolerance=2.0)
    assert sorted(starts) == list(range(40))
    dues = [starts[i][1] for i in range(40)]
    assert [b - a for a, b in itertools.pairwise(dues)] == pytest.approx([0.005] * 39)
    assert all(started >= due - 0.001 for started, due in starts.values())
    assert stats.sent == 40 and stats.behind == 0
    assert stats.window_s >= 39 / 200 - 0.001


async def test_open_loop_counts_sends_the_in_flight_cap_made_late() -> None:
    async def slow(i: int, due: float) -> None:
        await asyncio.sleep(0.05)

    # 200 msg/s offered, but two slots of 50 ms each carry 40 msg/s at most.
    stats = await open_loop(slow, rate=200, count=20, max_in_flight=2, tolerance=0.02)
    assert stats.behind >= 14
    assert stats.max_lateness_s > 0.3


async def test_open_loop_gives_up_on_a_hopeless_rate_and_counts_the_rest_as_unsent() -> None:
    async def slow(i: int, due: float) -> None:
        await asyncio.sleep(0.05)

    started = time.perf_counter()
    stats = await open_loop(slow, rate=100, count=100, max_in_flight=1, tolerance=0.02, give_up_s=0.2)
    assert time.perf_counter() - started < 2.5  # not the 5 s sending all 100 at 20/s would take
    assert 1 <= stats.sent <= 6 and stats.unsent == 100 - stats.sent
    assert stats.behind >= stats.unsent


async def test_closed_loop_sends_each_message_once_with_bounded_concurrency() -> None:
    sent: list[int] = []
    running = peak = 0

    async def send(i: int, due: float) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.002)
        sent.append(i)
        running -= 1

    stats = await closed_loop(send, count=25, concurrency=3)
    assert sorted(sent) == list(range(25))
    assert peak == 3
    assert stats.sent == 25 and stats.behind == 0


# --------------------------------------------------------------------------------------------
# What the watchers make of the events, and of the gateway


def test_tracker_keeps_the_first_assignment_and_notes_queued_conversations() -> None:
    tracker = Tracker()
    seen: list[str] = []
    tracker.on_assigned.append(seen.append)
    conversation = uuid.uuid4()
    agent = AgentRef(id=uuid.uuid4(), name="a", team="t")

    def assigned(sequence: int) -> Envelope:
        return Envelope.wrap(ConversationAssigned(
            conversation_id=conversation, customer_id=uuid.uuid4(), agent=agent, reason="new",
            priority=50.0, sequence=sequence, assigned_at=datetime.now(UTC)), source="t", correlation_id="c")

    tracker.event(Envelope.wrap(ConversationQueued(
        conversation_id=conversation, customer_id=uuid.uuid4(), priority=50.0, sequence=0,
        queued_at=datetime.now(UTC)),
        source="t", correlation_id="c"), 1.0)
    tracker.event(assigned(1), 2.0)
    tracker.event(assigned(2), 3.0)
    assert tracker.assigned == {str(conversation): 2.0}
    assert tracker.queued == {str(conversation)}
    assert seen == [str(conversation)]


def test_the_gateway_shows_a_conversation_once_it_has_the_message_and_an_owner() -> None:
    detail = {"assignment": {"state": "assigned"}, "messages": [{"id": "m0"}, {"id": "m1"}]}
    assert shows(detail, "m1")
    assert not shows(detail, "m2")
    assert not shows({**detail, "assignment": {"state": "queued"}}, "m1")
    assert not shows({"assignment": {"state": "assigned"}}, "m1")


async def test_gateway_probe_polls_sampled_conversations_until_visible_and_gives_up_on_the_rest() -> None:
    calls: dict[str, int] = {}

    def gateway(request: httpx.Request) -> httpx.Response:
        conversation = request.url.path.rsplit("/", 1)[-1]
        calls[conversation] = calls.get(conversation, 0) + 1
        assert request.headers["Authorization"] == "Bearer agent-token"
        if conversation == "c-never" or calls[conversation] < 3:
            return httpx.Response(404, json={"detail": "not yet"})
        return httpx.Response(200, json={"assignment": {"state": "assigned"}, "messages": [{"id": "m-1"}]})

    tracker = Tracker()
    async with httpx.AsyncClient(transport=httpx.MockTransport(gateway)) as client:
        rare = GatewayProbe(client, "http://gw", "agent-token", Tracker(), per_second=1)
        rare.offer("c-a", "m-a")
        rare.offer("c-b", "m-b")  # within the same second: not sampled
        assert rare.sampled == 1
        probe = GatewayProbe(client, "http://gw", "agent-token", tracker, per_second=float("inf"))
        probe.offer("c-1", "m-1")
        probe.offer("c-never", "m-2")
        probe.offer("c-unassigned", "m-3")  # never assigned on Kafka: never polled
        assert calls == {}  # polling starts when the assignment is seen
        for conversation in ("c-1", "c-never"):
            tracker.assigned[conversation] = time.perf_counter()
            for callback in tracker.on_assigned:
                callback(conversation)
        await probe.drain(wait_s=1.0)
    assert set(tracker.visible) == {"c-1"} and calls["c-1"] == 3
    assert "c-unassigned" not in calls
    assert calls["c-never"] >= 3 and probe.timed_out == 1 and probe.sampled == 3


# --------------------------------------------------------------------------------------------
# Lag and CPU


def test_lag_is_end_minus_committed_over_the_topics_the_group_consumes() -> None:
    a0, a1, a2 = (TopicPartition("a", p) for p in range(3))
    b0 = TopicPartition("b", 0)
    end = {a0: 100, a1: 50, a2: 30, b0: 1000}
    beginning = {a0: 0, a1: 0, a2: 10, b0: 0}
    # a2 never committed (counts from its beginning); b not consumed by the group at all.
    assert group_lag({a0: 90, a1: 50}, end, beginning) == 10 + 0 + 20
    assert group_lag({a0: 90, a1: -1}, end, beginning) == 10 + 50 + 20
    assert group_lag({a0: 120}, end, beginning) == 0 + 50 + 20  # never negative
    assert group_lag({}, end, beginning) == 0


def test_every_consumer_group_is_watched() -> None:
    groups = consumer_groups()
    assert "sportello.priority.scorer" in groups
    assert "sportello.assignment.router" in groups
    assert "sportello.gateway.read-model" in groups
    assert len(groups) == len(set(groups)) >= 7


def test_proc_stat_line_parsing_counts_user_system_and_reaped_children() -> None:
    # comm with spaces and parentheses; utime 1500, stime 300, cutime 40, cstime 2.
    rest = "S 4242 9 9 0 -1 4194560 81907 0 0 0 1500 300 40 2 20 0 9 0 1234 1 2 3"
    stat = parse_stat(f"777 (python (x) y) {rest}\n")
    assert stat == ProcStat(pid=777, ppid=4242, ticks=1842)


def test_cpu_of_a_tree_sums_live_descendants() -> None:
    stats = {1: ProcStat(1, 0, 5), 10: ProcStat(10, 1, 100), 11: ProcStat(11, 10, 7),
             12: ProcStat(12, 11, 3), 20: ProcStat(20, 1, 1000)}
    assert tree_ticks(10, stats) == 110
    assert tree_ticks(10, stats, children=False) == 100
    assert tree_ticks(99, stats) is None
    assert cores_used(250, 2.5, clk_tck=100) == 1.0
    assert cores_used(250, 0, clk_tck=100) == 0.0


def test_cpu_meter_sees_this_process_burn_cpu() -> None:
    meter = CpuMeter({})
    meter.mark()
    until = time.process_time() + 0.3
    while time.process_time() < until:
        pass
    used = meter.take()
    assert used["bench (this process)"] > 0.05
    assert used[MACHINE_BUSY] >= used["bench (this process)"] * 0.9


def test_machine_cpu_line_parsing() -> None:
    # user nice system idle iowait irq softirq steal guest guest_nice
    assert parse_machine("cpu  100 5 50 9000 70 1 2 3 40 0") == (161, 70)
    assert parse_machine("cpu  100 5 50 9000") == (155, 0)  # old kernels: fewer fields


def test_broker_and_postgres_pids_are_found_from_their_data_dirs(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    kafka_dir = tmp_path / "kafka"
    kafka_dir.mkdir()
    for pid, cmdline in ((301, ["java", "-cp", "x", "kafka.Kafka", "/elsewhere/server.properties"]),
                         (302, ["java", "-cp", "x", "kafka.Kafka", str(kafka_dir / "server.properties")]),
                         (303, ["python", str(kafka_dir / "server.properties")])):
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "cmdline").write_bytes(b"\0".join(c.encode() for c in cmdline) + b"\0")
    (proc / "self").mkdir()
    assert kafka_broker_pid(kafka_dir, proc) == 302
    assert kafka_broker_pid(tmp_path / "nothing", proc) is None
    pg = tmp_path / "pg"
    pg.mkdir()
    assert postgres_pid(pg) is None
    (pg / "postmaster.pid").write_text("4321\n/data\n1700000000\n5432\n")
    assert postgres_pid(pg) == 4321


# --------------------------------------------------------------------------------------------
# Results


def _step(rate: float | None, e2e: float, p50: float, p99: float) -> dict[str, object]:
    hops = {hop: {"n": 10, "p50": p50 / 4, "p95": p99 / 4, "p99": p99 / 4, "max": p99 / 4} for hop in HOPS}
    hops["e2e"] = {"n": 10, "p50": p50, "p95": (p50 + p99) / 2, "p99": p99, "max": p99}
    return {"label": "max" if rate is None else f"r{rate:g}", "offered_rate": rate, "messages": 100,
            "accepted": 100, "failed": 0, "behind_schedule": 3 if rate == 1000 else 0,
            "max_lateness_ms": 12.5, "send_window_s": 1.0, "ingest_msgs_per_s": e2e * 1.1, "scored": 100,
            "assigned": 100, "queued": 0, "e2e_msgs_per_s": e2e, "drained": True, "wall_s": 2.0,
            "hops": hops, "max_lag": {"sportello.priority.scorer": 5 if rate else 900},
            "cpu_cores": {"ingest": 0.4, "kafka": 0.2, MACHINE_BUSY: 1.9},
            "cpu_ms_per_message": {"ingest": 8.0, "kafka": 4.0}, "failure_kinds": {"ReadTimeout": 2} if rate else {}}


STEPS = [_step(100, 99.0, 40.0, 90.0), _step(500, 480.0, 60.0, 200.0), _step(1000, 520.0, 900.0, 3000.0),
         _step(None, 510.0, 300.0, 700.0)]
RAW = {"messages": 100, "received": 100, "record_bytes": 900, "produce_msgs_per_s": 9000.0,
       "msgs_per_s": 5200.0, "p50_ms": 8.0, "p95_ms": 10.0, "p99_ms": 12.0}


def test_summary_has_the_headline_keys() -> None:
    out = summary(STEPS, RAW, {"decision_agent_room_median_ms": 1.5, "webhook_req_per_s": 300.0})
    assert out["e2e_msgs_per_s"] == 520.0  # the best sustained step
    assert out["p50_ms_at_500"] == 60.0 and out["p99_ms_at_500"] == 200.0
    assert out["p99_ms_at_1000"] == 3000.0 and out["behind_schedule_at_1000"] == 3
    assert out["unsent_at_1000"] == 0
    assert out["max_rate_e2e_msgs_per_s"] == 510.0
    assert out["raw_kafka_msgs_per_s"] == 5200.0
    assert out["e2e_to_raw_ratio"] == pytest.approx(0.1)
    assert out["decision_agent_room_median_ms"] == 1.5 and out["webhook_req_per_s"] == 300.0
    json.dumps(out)
    quick = summary(STEPS[:1], None)
    assert quick["p50_ms_at_500"] is None and quick["e2e_to_raw_ratio"] is None


def test_outputs_are_a_json_file_a_table_and_a_png(tmp_path: Path) -> None:
    text = table(STEPS, RAW)
    for needle in ("100/s", "1000/s", "max", "sportello.priority.scorer", "ingest", "kafka", "Raw Kafka", "900",
                   "0.60", MACHINE_BUSY, "12.0", "ReadTimeout x2"):
        assert needle in text
    result = {"steps": STEPS, "raw_kafka": RAW, "summary": summary(STEPS, RAW)}
    folder = write_outputs(result, text, tmp_path / "results", datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert folder == tmp_path / "results" / "bench-20250102-030405"
    assert json.loads((folder / "result.json").read_text())["summary"]["p99_ms_at_500"] == 200.0
    assert (folder / "summary.txt").read_text().startswith(text)
    png = (folder / "plot.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_a_step_result_counts_what_was_seen() -> None:
    tracker = Tracker(scored={"m1": 1.2, "m2": 1.3}, assigned={"c1": 1.5, "c2": 2.5}, queued={"c2"})
    posted = [Posted("c1", "m1", 1.0, 1.0, 1.1), Posted("c2", "m2", 1.0, 1.0, 1.2), Posted("c3", "m3", 1.0, 1.5, 1.6)]
    outcome = StepOutcome(label="r10", offered_rate=10.0, schedule=ScheduleStats(4, 1, 0.05, 0.3),
                          posted=posted, failures=["ReadTimeout: "], started=1.0, drained=False, wall_s=3.0)
    s = step_result(outcome, tracker, max_lag={"g": 7}, cpu_cores={"ingest": 0.5, MACHINE_BUSY: 2.0})
    assert (s["messages"], s["accepted"], s["failed"], s["behind_schedule"]) == (4, 3, 1, 1)
    assert (s["offered"], s["unsent"]) == (4, 0)
    assert (s["scored"], s["assigned"], s["queued"]) == (2, 2, 1)
    assert s["e2e_msgs_per_s"] == 1.0  # one more assignment 1 s after the first
    assert s["e2e_span_msgs_per_s"] == 1.3  # 2 assigned between the first POST (1.0) and 2.5
    assert s["hops"]["e2e"]["p50"] == 500.0 and s["hops"]["e2e"]["n"] == 2
    assert s["max_lag"] == {"g": 7} and s["drained"] is False
    assert s["failure_kinds"] == {"ReadTimeout": 1}
    assert s["cpu_ms_per_message"] == {"ingest": 750.0}  # 0.5 cores x 3 s / 2 messages assigned


def test_quick_mode_is_tiny_and_enough_agents_are_planned() -> None:
    args = bench.parse_args(["--quick", "--skip-decision"])
    assert args.rate_list == [20.0, 50.0] and args.seconds == 3.0 and args.max_messages == 200
    assert bench.planned_messages(args) == 20 + 60 + 150 + 200 + 50
    default = bench.parse_args([])
    assert default.rate_list == [100.0, 500.0, 1000.0] and not default.skip_decision


# --------------------------------------------------------------------------------------------
# On the session's real Kafka broker


@pytest.mark.kafka
async def test_raw_kafka_reference_round_trips_every_record(kafka_bootstrap: str) -> None:
    result = await raw_kafka_reference(kafka_bootstrap, 60)
    assert result["messages"] == result["received"] == 60
    assert result["record_bytes"] == record_size(sample_record())
    assert result["record_bytes"] > 500  # value, ce_* headers and key, as ingest publishes it
    assert result["msgs_per_s"] > 0 and result["produce_msgs_per_s"] > 0
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        for _ in range(50):  # the scratch topic is deleted (deletion completes asynchronously)
            leftovers = [t for t in await admin.list_topics() if t.startswith("sportello.bench.raw.")]
            if not leftovers:
                break
            await asyncio.sleep(0.2)
        assert leftovers == []
    finally:
        await admin.close()


@pytest.mark.kafka
async def test_lag_sampler_reads_committed_and_end_offsets(kafka_bootstrap: str) -> None:
    topic, group = f"bench-lag-{uuid.uuid4().hex[:8]}", f"bench-lag-group-{os.getpid()}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 2, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait(topic, b"x", partition=i % 2)  # 5 records per partition
    finally:
        await producer.stop()
    committer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False)
    await committer.start()
    try:
        committer.assign([TopicPartition(topic, 0)])
        await committer.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "")})
    finally:
        await committer.stop()
    sampler = LagSampler(kafka_bootstrap, groups=[group, "bench-never-ran"], topics=[topic], interval=0.1)
    await sampler.start()
    try:
        # Partition 0: 5 - 2; partition 1 never committed: 5 from its beginning.
        assert await sampler.sample() == {group: 8, "bench-never-ran": 0}
        await asyncio.sleep(0.35)
        assert sampler.take() == {group: 8, "bench-never-ran": 0}
        assert sampler.taken_samples >= 1 and sampler.taken_errors == 0
    finally:
        await sampler.stop()
