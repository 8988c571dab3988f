"""``make profile``: where the stack spends its CPU, per service and per message.

Starts a private stack (Kafka, PostgreSQL, the five services as processes), warms it up, then posts
``--messages`` messages to ingest while py-spy samples every service process. It reports, for each
service, the CPU milliseconds it spent per message (from ``/proc``: contention on a shared machine
changes throughput far more than it changes CPU per message, so this is the figure to compare
before and after a change) and the heaviest call paths in our code, and writes py-spy's flame graphs
(SVG) and raw stacks into ``results/profile-<time>/``. The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from sportello_deploy.private_stack import PrivateStack, private_stack

_TICK = os.sysconf("SC_CLK_TCK")
_ROOT = Path(__file__).resolve().parents[2]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


async def post_messages(stack: PrivateStack, count: int, concurrency: int) -> float:
    """Post ``count`` messages from distinct customers; the seconds it took."""
    run = uuid.uuid4().hex[:8]
    pending = iter(range(count))

    async def worker(client: httpx.AsyncClient) -> None:
        for n in pending:
            response = await client.post(
                f"{stack.url('ingest')}/v1/channels/api/messages", headers=stack.auth("integration"),
                json={"channel": "twitter", "external_id": f"{run}-{n}",
                      "author": {"id": f"{run}-c{n}", "display_name": "Profile", "followers": n},
                      "text": "my connection keeps dropping, still waiting for a technician!!",
                      "sent_at": datetime.now(UTC).isoformat()})
            response.raise_for_status()

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return time.perf_counter() - started


def heaviest_paths(raw: Path, top: int = 8) -> list[tuple[float, str]]:
    """Our own frames (sportello*) by inclusive share of the samples."""
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        for frame in {f for f in stack.split(";") if "sportello" in f and "__main__" not in f
                      and "cli.py" not in f}:
            inclusive[frame] += int(count)
    return [(round(100 * n / total, 1), frame) for frame, n in inclusive.most_common(top)] if total else []


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sportello_deploy.profile")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=int, default=50, help="py-spy samples per second")
    args = parser.parse_args(argv)
    out = _ROOT / "results" / f"profile-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    out.mkdir(parents=True, exist_ok=True)
    spy = Path(sys.executable).parent / "py-spy"
    agents = [{"name": f"agent-{i}", "team": "profile", "capacity": 50, "presence": "online"}
              for i in range(2 + args.messages // 25)]
    with private_stack("profile", SPORTELLO_ASSIGNMENT_SEED_AGENTS=json.dumps(agents),
                       SPORTELLO_LOG_LEVEL="WARNING") as stack:
        asyncio.run(post_messages(stack, 100, 16))  # warm-up: pools, caches, model loading
        time.sleep(3)
        pids = {name: service.pid for name, service in stack.services.items() if service.pid}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        samplers = {name: subprocess.Popen(
            [str(spy), "record", "--pid", str(pid), "--rate", str(args.rate), "--nonblocking",
             "--format", "raw", "--output", str(out / f"{name}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name, pid in pids.items()}
        seconds = asyncio.run(post_messages(stack, args.messages, args.concurrency))
        time.sleep(5)  # let the pipeline drain what was accepted
        after = {name: cpu_seconds(pid) for name, pid in pids.items()}
        for sampler in samplers.values():
            sampler.send_signal(2)  # SIGINT: py-spy writes what it sampled and exits
            sampler.wait(timeout=60)
    per_message = {name: round(1000 * (after[name] - before[name]) / args.messages, 2)
                   for name in pids}
    print(f"{'service':<12} {'CPU ms/msg':>10}   heaviest paths in our code (inclusive share)")
    for name, ms in per_message.items():
        paths = heaviest_paths(out / f"{name}.txt", top=4)
        print(f"{name:<12} {ms:>10.2f}   " + "; ".join(f"{share}% {frame}" for share, frame in paths))
    summary = {"messages": args.messages, "ingest_msgs_per_s": round(args.messages / seconds, 1),
               "cpu_ms_per_msg": per_message,
               "total_cpu_ms_per_msg": round(sum(per_message.values()), 1),
               "results": str(out.relative_to(_ROOT))}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
