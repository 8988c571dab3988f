"""``make bench``: end-to-end throughput and latency on the real stack.

Starts a private Kafka broker and PostgreSQL and runs the five services as separate processes, then:

* fixed-rate steps (open loop, ``--rates 100,500,1000`` msg/s for ``--seconds`` each): messages are
  POSTed to ingest's generic API on schedule whatever the responses, one new customer each; sends
  that start late (in-flight cap reached, or the client itself too slow) count as behind schedule,
  and so do those still unsent when a step has run ``--give-up`` times its duration;
* a maximum-rate step (closed loop, ``--concurrency`` workers, ``--max-messages`` messages);
* per hop, p50/p95/p99: POST (ingest accepted) -> ``message.scored`` seen on Kafka ->
  ``conversation.assigned`` seen on Kafka -> visible in the gateway (a sample of conversations
  polled with back-off, ``--gateway-samples`` per second);
* each consumer group's lag (sampled every second, max per step) and the CPU each process used
  (services, the Kafka broker, PostgreSQL with its backends, this process), as average cores;
* a raw Kafka reference on the same broker: as many records of the same size, produced and consumed
  back with aiokafka alone;
* the X webhook intake (signed deliveries, closed loop).

Each step waits until its conversations are all assigned (or stop progressing) before the next.
Writes ``results/bench-<timestamp>/`` (result.json, summary.txt, plot.png), prints a table and, as the
last line, one JSON object (``e2e_msgs_per_s``, ``p50_ms_at_500``, ``p99_ms_at_500``,
``raw_kafka_msgs_per_s``, ``e2e_to_raw_ratio``, ... and the decision benchmark's medians).
Numbers on a 2-core machine are noisy: the benchmark client shares the cores with everything it
measures (its own CPU is in the table); compare runs, not single figures.

First (unless ``--skip-decision``) it times one assignment decision at scale on its own PostgreSQL
(``decision_bench``: 1,000 agents, 100,000 waiting); ``--only-decision`` runs just that.

Then (unless ``--skip-gateway``) the gateway at scale on its own PostgreSQL (``gateway_bench``:
``--gateway-conversations`` conversations, 1,000,000 by default, 20,000 with ``--quick``; the data
set is cached under ``.cache/gateway-bench/``): the inbox query's p50/p99 and a 30-day KPI report,
in the last line as ``gateway_*`` keys.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from sportello_deploy import decision_bench, gateway_bench
from sportello_deploy.bench_kafka import raw_kafka_reference
from sportello_deploy.bench_load import GatewayProbe, Ingest, Tracker, run_step, start_tails
from sportello_deploy.bench_probes import CpuMeter, LagSampler, kafka_broker_pid, postgres_pid
from sportello_deploy.bench_report import gateway_keys, step_result, summary, table, write_outputs
from sportello_deploy.bench_stats import messages_for
from sportello_deploy.bench_webhook import webhook_round
from sportello_deploy.private_stack import PrivateStack, private_stack

AGENT_CAPACITY = 50  # the most POST /v1/agents allows per channel
QUICK_GATEWAY_CONVERSATIONS = 20_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sportello_deploy.bench")
    parser.add_argument("--rates", default="100,500,1000",
                        help="fixed (open-loop) rates in msg/s, comma-separated; empty for none")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each fixed-rate step")
    parser.add_argument("--max-messages", type=int, default=2000,
                        help="messages of the maximum-rate (closed-loop) step; 0 skips it")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="workers of the maximum-rate step and of the webhook round")
    parser.add_argument("--max-in-flight", type=int, default=256, help="open loop: outstanding POSTs cap")
    parser.add_argument("--tolerance-ms", type=float, default=20.0,
                        help="open loop: a send starting later than this after its due time is behind")
    parser.add_argument("--give-up", type=float, default=3.0,
                        help="open loop: stop sending after this many times the step's duration "
                             "(what is left counts as unsent, behind schedule); 0 never gives up")
    parser.add_argument("--gateway-samples", type=float, default=5.0,
                        help="conversations per second polled on the gateway (visible hop)")
    parser.add_argument("--warmup", type=int, default=200, help="closed-loop warm-up messages (not reported)")
    parser.add_argument("--webhook-requests", type=int, default=1000)
    parser.add_argument("--webhook-rounds", type=int, default=3, help="0 skips the webhook round")
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: rates 20,50 for 3 s, 200 max-rate messages, small rounds")
    parser.add_argument("--only-decision", action="store_true",
                        help="run only the decision benchmark (no Kafka, no services)")
    parser.add_argument("--skip-decision", action="store_true",
                        help="run only the end-to-end benchmark")
    decision_bench.add_arguments(parser, prefix="decision-")
    parser.add_argument("--gateway-conversations", type=int, default=None,
                        help="size of the gateway benchmark's data set (default 1,000,000; "
                             f"{QUICK_GATEWAY_CONVERSATIONS:,} with --quick)")
    parser.add_argument("--skip-gateway", action="store_true",
                        help="skip the gateway benchmark (inbox and 30-day report at scale)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rates, args.seconds, args.max_messages = "20,50", 3.0, 200
        args.warmup, args.webhook_requests, args.webhook_rounds = 20, 50, 1
    if args.gateway_conversations is None:
        args.gateway_conversations = (QUICK_GATEWAY_CONVERSATIONS if args.quick
                                      else gateway_bench.BenchConfig().conversations)
    args.rate_list = [float(r) for r in args.rates.split(",") if r.strip()]
    return args


def planned_messages(args: argparse.Namespace) -> int:
    return (args.warmup + sum(messages_for(r, args.seconds) for r in args.rate_list) + args.max_messages
            + args.webhook_requests * args.webhook_rounds)


def process_pids(stack: PrivateStack) -> dict[str, int]:
    """Each service, the broker's JVM and the postmaster (its backends are its children). The broker
    and PostgreSQL handles are used when the stack exposes them, else found from their data folders."""
    pids = {name: svc.pid for name, svc in stack.services.items() if svc.pid is not None}
    broker_handle, postgres_handle = getattr(stack, "broker", None), getattr(stack, "postgres", None)
    broker = getattr(broker_handle, "pid", None) or kafka_broker_pid(stack.work / "kafka")
    postgres = postgres_pid(getattr(postgres_handle, "data_dir", None) or stack.work / "postgres")
    if broker is not None:
        pids["kafka"] = broker
    if postgres is not None:
        pids["postgres"] = postgres
    return pids


async def measure(stack: PrivateStack, args: argparse.Namespace, secret: str) -> dict[str, Any]:
    tracker = Tracker()
    pids = process_pids(stack)
    cpu = CpuMeter(pids)
    steps: list[dict[str, Any]] = []
    limits = httpx.Limits(max_connections=args.max_in_flight + 8, max_keepalive_connections=args.max_in_flight + 8)
    # Both watchers are positioned at the end of their topics before the first message is sent.
    tails = await start_tails(stack.bootstrap, tracker)
    lag = LagSampler(stack.bootstrap)
    try:
        await lag.start()
        # A long timeout: an overloaded ingest queues the open loop's POSTs; a timed-out POST would
        # still be processed but never matched to its events.
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            probe = GatewayProbe(client, stack.url("gateway"), stack.tokens["agent"], tracker,
                                 per_second=args.gateway_samples)
            ingest = Ingest(client, stack.url("ingest"), stack.tokens["integration"], probe)
            common = {"concurrency": args.concurrency, "max_in_flight": args.max_in_flight,
                      "tolerance": args.tolerance_ms / 1000}
            if args.warmup:
                await run_step(ingest, tracker, probe, label="warmup", rate=None, count=args.warmup, **common)
                probe.timed_out = 0
            plan: list[float | None] = [*args.rate_list, *([None] if args.max_messages else [])]
            for rate in plan:
                count = args.max_messages if rate is None else messages_for(rate, args.seconds)
                label = "max" if rate is None else f"r{rate:g}"
                lag.take()
                cpu.mark()
                give_up = args.give_up * args.seconds if rate is not None and args.give_up > 0 else None
                outcome = await run_step(ingest, tracker, probe, label=label, rate=rate, count=count,
                                         give_up_s=give_up, **common)
                steps.append(step_result(outcome, tracker, max_lag=lag.take(), cpu_cores=cpu.take()))
                s = steps[-1]
                s["lag_samples"], s["lag_sample_errors"] = lag.taken_samples, lag.taken_errors
                s["gateway_polls_given_up"], probe.timed_out = probe.timed_out, 0
                print(f"  step {label}: sent {s['messages']} unsent {s['unsent']} behind {s['behind_schedule']} "
                      f"assigned {s['assigned']} e2e {s['e2e_msgs_per_s']:.0f} msg/s "
                      f"p50 {s['hops']['e2e']['p50']} ms p99 {s['hops']['e2e']['p99']} ms", flush=True)
    finally:
        for tail in tails:
            await tail.stop()
        await lag.stop()
    raw_count = args.max_messages or max((s["messages"] for s in steps), default=200)
    raw = await raw_kafka_reference(stack.bootstrap, raw_count)
    hooks = [await webhook_round(stack.url("ingest"), secret, args.webhook_requests, args.concurrency)
             for _ in range(args.webhook_rounds)]
    return {"pids": pids, "steps": steps, "raw_kafka": raw, "webhook": hooks}


def webhook_summary(hooks: list[dict[str, float]]) -> dict[str, float]:
    if not hooks:
        return {}
    return {"webhook_req_per_s": round(statistics.median(r["requests_per_s"] for r in hooks), 1),
            "webhook_p50_ms": round(statistics.median(r["p50_ms"] for r in hooks), 1),
            "webhook_p99_ms": round(statistics.median(r["p99_ms"] for r in hooks), 1)}


def run_gateway_stage(args: argparse.Namespace) -> dict[str, Any]:
    """The gateway at scale before the stack starts (it has the machine to itself); {} if skipped."""
    if args.skip_gateway:
        return {}
    quick = args.quick
    config = gateway_bench.BenchConfig(
        conversations=args.gateway_conversations, results_dir=args.results_dir,
        requests=200 if quick else gateway_bench.BenchConfig.requests,
        variant_requests=50 if quick else gateway_bench.BenchConfig.variant_requests,
        report_runs=10 if quick else gateway_bench.BenchConfig.report_runs)
    print(f"\nGateway benchmark: {config.conversations:,} conversations", flush=True)
    try:
        return gateway_bench.run(config)
    except Exception as exc:
        # The end-to-end benchmark still runs; the last line says why the gateway figures are missing.
        print(f"Gateway benchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    decision: dict[str, Any] = {}
    if not args.skip_decision:
        decision = decision_bench.run_standalone(decision_bench.config_from(args, prefix="decision-")).summary
    if args.only_decision:
        print(json.dumps(decision))
        return
    gateway = run_gateway_stage(args)

    # Enough agents that nothing queues: the benchmark measures the pipeline, not a full team.
    agents = [{"name": f"agent-{i}", "team": "bench", "capacity": AGENT_CAPACITY, "presence": "online"}
              for i in range(2 + (planned_messages(args) * 11 // 10) // AGENT_CAPACITY)]
    secret = secrets.token_urlsafe(24)
    started_at = datetime.now(UTC)
    with private_stack("bench", SPORTELLO_ASSIGNMENT_SEED_AGENTS=json.dumps(agents),
                       SPORTELLO_LOG_LEVEL="WARNING", SPORTELLO_X_CONSUMER_SECRET=secret) as stack:
        print(f"\nSportello end-to-end benchmark: 5 services + Kafka + PostgreSQL on this machine "
              f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}), {len(agents)} agents",
              flush=True)
        measured = asyncio.run(measure(stack, args, secret))
    steps, raw, hooks = measured["steps"], measured["raw_kafka"], measured["webhook"]
    text = table(steps, raw)
    if hooks:
        text += (f"\n\nX webhook intake (signed deliveries, one mention each), {args.webhook_requests} requests"
                 f" x {len(hooks)} rounds, concurrency {args.concurrency}: "
                 + "; ".join(f"{r['requests_per_s']:.0f} req/s p50 {r['p50_ms']:.0f} ms p99 {r['p99_ms']:.0f} ms"
                             for r in hooks))
    if not measured["pids"].keys() >= {"kafka", "postgres"}:
        text += "\n\n(CPU: the Kafka broker's or PostgreSQL's pid was not found; services only)"
    final = summary(steps, raw, {**decision, **webhook_summary(hooks), **gateway_keys(gateway)})
    result = {"started_at": started_at.isoformat(), "argv": sys.argv[1:] if argv is None else argv,
              "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "machine": {"cpus": os.cpu_count(), "loadavg_after": os.getloadavg()},
              **measured, "decision": decision, "gateway": gateway, "summary": final}
    folder = write_outputs(result, text, args.results_dir, started_at)
    final["results_dir"] = str(folder)
    print(text)
    print(f"\nResults: {folder}/result.json, {folder}/plot.png")
    print(json.dumps(final))


if __name__ == "__main__":
    main()
