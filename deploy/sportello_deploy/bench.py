"""``make bench``: end-to-end throughput and latency on the real stack.

Starts a private Kafka broker and PostgreSQL, runs the five services as separate processes, POSTs
messages to ingest over HTTP (distinct customers, bounded concurrency) and watches the
``conversation.assigned`` events on Kafka. Latency is POST start -> assignment event seen, i.e.
ingest + priority + assignment + two outbox relays + three Kafka hops. Prints msg/s and p50/p99.
Numbers on a 2-core machine are noisy: run it twice and compare medians, not single runs.

First (unless ``--skip-decision``) it times one assignment decision at scale on its own PostgreSQL
(``decision_bench``: 1,000 agents, 100,000 waiting); ``--only-decision`` runs just that. The last
line printed is one JSON object with the medians of every part.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import time
import uuid
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaConsumer

from sportello.bus.base import IncomingRecord
from sportello.bus.codec import decode
from sportello.contracts import ConversationAssigned
from sportello.topics import CONVERSATIONS_ASSIGNMENT
from sportello_deploy import decision_bench
from sportello_deploy.fakes.x import webhook_headers
from sportello_deploy.percentiles import nearest_rank
from sportello_deploy.private_stack import private_stack


async def _watch_assignments(bootstrap: str, seen: dict[str, float], stop: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(CONVERSATIONS_ASSIGNMENT.name, bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for records in batches.values():
                for r in records:
                    envelope = decode(IncomingRecord(r.topic, r.partition, r.offset, r.key,
                                                     r.value, tuple(r.headers)),
                                      CONVERSATIONS_ASSIGNMENT)
                    if isinstance(envelope.data, ConversationAssigned):
                        seen.setdefault(str(envelope.data.conversation_id), now)
    finally:
        await consumer.stop()


async def _round(ingest_url: str, token: str, bootstrap: str, messages: int,
                 concurrency: int) -> dict[str, float]:
    posted: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_assignments(bootstrap, seen, stop))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(messages):
        queue.put_nowait(n)
    run = uuid.uuid4().hex[:8]

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            started = time.perf_counter()
            response = await client.post(
                f"{ingest_url}/v1/channels/api/messages",
                headers={"Authorization": f"Bearer {token}"},
                json={"channel": "twitter", "external_id": f"{run}-{n}",
                      "author": {"id": f"{run}-c{n}", "display_name": "Bench", "followers": n},
                      "text": "my connection keeps dropping, still waiting for a technician!!",
                      "sent_at": datetime.now(UTC).isoformat()},
            )
            response.raise_for_status()
            posted[response.json()["conversation_id"]] = started

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    ingest_done = time.perf_counter()
    deadline = time.monotonic() + 180
    while len(set(posted) & set(seen)) < len(posted) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await watcher
    latencies = [seen[c] - posted[c] for c in posted if c in seen]
    last = max(seen[c] for c in posted if c in seen)
    return {
        "messages": messages,
        "assigned": len(latencies),
        "ingest_msg_per_s": messages / (ingest_done - started),
        "end_to_end_msg_per_s": len(latencies) / (last - started),
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * nearest_rank(latencies, 0.99),
    }


async def _webhook_round(ingest_url: str, secret: str, requests: int, concurrency: int) -> dict[str, float]:
    """Signed X Account Activity deliveries (one mention each) against the webhook: intake alone."""
    run = uuid.uuid4().hex[:8]
    bodies = [json.dumps({"for_user_id": "bench-brand", "tweet_create_events": [{
        "id_str": f"{run}{n}", "text": "@brand still no refund, third time asking!",
        "timestamp_ms": str(int(time.time() * 1000)), "created_at": "Tue Oct 31 22:10:47 +0000 2017",
        "user": {"id_str": f"{run}-c{n}", "name": "Bench", "screen_name": f"bench{n}", "followers_count": n},
    }]}).encode() for n in range(requests)]
    latencies: list[float] = []
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            started = time.perf_counter()
            response = await client.post(f"{ingest_url}/v1/channels/x/webhook", content=body,
                                         headers=webhook_headers(secret, body))
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return {"requests_per_s": requests / (time.perf_counter() - started),
            "p50_ms": 1000 * statistics.median(latencies), "p99_ms": 1000 * nearest_rank(latencies, 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sportello_deploy.bench")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only-decision", action="store_true",
                        help="run only the decision benchmark (no Kafka, no services)")
    parser.add_argument("--skip-decision", action="store_true",
                        help="run only the end-to-end benchmark")
    decision_bench.add_arguments(parser, prefix="decision-")
    args = parser.parse_args()
    summary: dict[str, object] = {}
    if not args.skip_decision:
        summary.update(decision_bench.run_standalone(
            decision_bench.config_from(args, prefix="decision-")).summary)
    if args.only_decision:
        print(json.dumps(summary))
        return

    # Enough agents that nothing queues: the benchmark measures the pipeline, not a full team.
    agents = [{"name": f"agent-{i}", "team": "bench", "capacity": 50, "presence": "online"}
              for i in range(2 + (args.messages * (args.rounds + 1)) // 50)]
    secret = secrets.token_urlsafe(24)
    with private_stack("bench", SPORTELLO_ASSIGNMENT_SEED_AGENTS=json.dumps(agents),
                       SPORTELLO_LOG_LEVEL="WARNING", SPORTELLO_X_CONSUMER_SECRET=secret) as stack:
        ingest_url = stack.url("ingest")
        token = stack.tokens["integration"]
        bootstrap = stack.bootstrap
        asyncio.run(_round(ingest_url, token, bootstrap, max(50, args.messages // 10),
                           args.concurrency))  # warm-up: JITs nothing, but fills pools and caches
        results = [asyncio.run(_round(ingest_url, token, bootstrap, args.messages,
                                      args.concurrency)) for _ in range(args.rounds)]
        print(f"\nSportello end-to-end benchmark (ingest -> assigned), {args.messages} messages "
              f"x {args.rounds} rounds, concurrency {args.concurrency}, 5 services + Kafka + "
              "PostgreSQL on this machine")
        for i, r in enumerate(results, 1):
            print(f"  round {i}: assigned {r['assigned']}/{r['messages']}  "
                  f"ingest {r['ingest_msg_per_s']:.0f} msg/s  end-to-end "
                  f"{r['end_to_end_msg_per_s']:.0f} msg/s  p50 {r['p50_ms']:.0f} ms  "
                  f"p99 {r['p99_ms']:.0f} ms")
        print("  median: "
              f"end-to-end {statistics.median(r['end_to_end_msg_per_s'] for r in results):.0f} "
              f"msg/s  p50 {statistics.median(r['p50_ms'] for r in results):.0f} ms  "
              f"p99 {statistics.median(r['p99_ms'] for r in results):.0f} ms")
        hooks = [asyncio.run(_webhook_round(ingest_url, secret, args.messages, args.concurrency))
                 for _ in range(args.rounds)]
        print(f"\nX webhook intake (signed Account Activity deliveries, one mention each), {args.messages} "
              f"requests x {args.rounds} rounds, concurrency {args.concurrency}")
        for i, r in enumerate(hooks, 1):
            print(f"  round {i}: {r['requests_per_s']:.0f} req/s  p50 {r['p50_ms']:.0f} ms  p99 {r['p99_ms']:.0f} ms")
        print(f"  median: {statistics.median(r['requests_per_s'] for r in hooks):.0f} req/s  "
              f"p50 {statistics.median(r['p50_ms'] for r in hooks):.0f} ms  "
              f"p99 {statistics.median(r['p99_ms'] for r in hooks):.0f} ms")
    summary.update({
        "end_to_end_msg_per_s": round(statistics.median(r["end_to_end_msg_per_s"] for r in results), 1),
        "end_to_end_p50_ms": round(statistics.median(r["p50_ms"] for r in results), 1),
        "end_to_end_p99_ms": round(statistics.median(r["p99_ms"] for r in results), 1),
        "webhook_req_per_s": round(statistics.median(r["requests_per_s"] for r in hooks), 1),
        "webhook_p50_ms": round(statistics.median(r["p50_ms"] for r in hooks), 1),
        "webhook_p99_ms": round(statistics.median(r["p99_ms"] for r in hooks), 1),
    })
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
