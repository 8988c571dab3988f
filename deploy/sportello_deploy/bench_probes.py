"""What ``make bench`` watches besides the messages: consumer lag per group and CPU per process.

Lag: every consumer group in ``sportello.topics.Groups``, committed offsets against end offsets,
sampled every second; the benchmark keeps the maximum per group and step. A group's topics are the
ones it has committed offsets on; a partition of such a topic it has not committed on yet counts from
the partition's beginning (the services start at ``earliest``).

CPU: ``/proc/<pid>/stat`` utime + stime (+ cutime + cstime, so children that exited and were reaped
still count) summed over the process and its live descendants, read at a step's start and end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from sportello.topics import Groups, all_topic_names

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


async def topic_partitions(bootstrap: str, names: Iterable[str], *, wait_s: float = 10.0,
                           required: bool = True) -> list[TopicPartition]:
    """Every partition of ``names`` from the broker's metadata (a consumer's ``partitions_for_topic``
    only knows topics it fetched). Waits up to ``wait_s`` for a new topic to show up; with
    ``required`` a topic still missing then is an error, otherwise it is left out."""
    wanted = list(names)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="sportello-bench")
    await admin.start()
    try:
        deadline = time.monotonic() + wait_s
        while True:
            found: dict[str, list[int]] = {}
            for topic in await admin.describe_topics(wanted):
                partitions = topic.get("partitions") or []
                # A new topic's partitions may have no leader for a moment: not ready yet.
                if not topic.get("error_code") and partitions and all(p.get("leader", 0) >= 0 for p in partitions):
                    found[topic["topic"]] = sorted(p["partition"] for p in partitions)
            missing = [name for name in wanted if name not in found]
            if not missing or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    if missing and required:
        raise RuntimeError(f"no such topic(s) on {bootstrap}: {', '.join(missing)}")
    return [TopicPartition(name, p) for name in wanted for p in found.get(name, [])]


def consumer_groups() -> list[str]:
    return [value for name, value in vars(Groups).items() if name.isupper() and isinstance(value, str)]


# --------------------------------------------------------------------------------------------
# Consumer lag


def group_lag(committed: Mapping[TopicPartition, int], end: Mapping[TopicPartition, int],
              beginning: Mapping[TopicPartition, int]) -> int:
    """Records the group still has to process: over every partition of the topics it has committed
    on, end offset minus committed offset (minus the beginning where it has not committed)."""
    topics = {tp.topic for tp, offset in committed.items() if offset >= 0}
    lag = 0
    for tp, last in end.items():
        if tp.topic not in topics:
            continue
        offset = committed.get(tp, -1)
        if offset < 0:
            offset = beginning.get(tp, 0)
        lag += max(0, last - offset)
    return lag


class LagSampler:
    """Samples every group's lag each ``interval`` seconds; ``take()`` returns and resets the maxima."""

    def __init__(self, bootstrap: str, groups: Iterable[str] | None = None, interval: float = 1.0,
                 topics: Iterable[str] | None = None) -> None:
        self.groups = list(consumer_groups() if groups is None else groups)
        self.topics = list(all_topic_names() if topics is None else topics)
        self.interval = interval
        self._bootstrap = bootstrap
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="sportello-bench-lag")
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, client_id="sportello-bench-lag",
                                          enable_auto_commit=False)
        self._partitions: list[TopicPartition] = []
        self._beginning: dict[TopicPartition, int] = {}
        self._max: dict[str, int] = {}
        self._samples = 0
        self._errors = 0
        self.taken_samples = 0  # samples (and failed ones) behind the last take()
        self.taken_errors = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._partitions = await topic_partitions(self._bootstrap, self.topics, wait_s=0, required=False)
        await self._admin.start()
        await self._consumer.start()
        self._beginning = dict(await self._consumer.beginning_offsets(self._partitions))
        self._task = asyncio.create_task(self._loop(), name="bench:lag")

    async def sample(self) -> dict[str, int]:
        end = dict(await self._consumer.end_offsets(self._partitions))
        lags: dict[str, int] = {}
        for group in self.groups:
            offsets = await self._admin.list_consumer_group_offsets(group)
            lags[group] = group_lag({tp: meta.offset for tp, meta in offsets.items()}, end, self._beginning)
        return lags

    async def _loop(self) -> None:
        while True:
            started = time.monotonic()
            try:
                for group, lag in (await self.sample()).items():
                    self._max[group] = max(lag, self._max.get(group, 0))
                self._samples += 1
            except Exception:  # a missed sample must not end the benchmark
                self._errors += 1
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))

    def take(self) -> dict[str, int]:
        """Maximum lag per group since the last ``take`` (every group, 0 if never behind)."""
        maxima = {group: self._max.get(group, 0) for group in self.groups}
        self.taken_samples, self.taken_errors = self._samples, self._errors
        self._max, self._samples, self._errors = {}, 0, 0
        return maxima

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()
        await self._admin.close()


# --------------------------------------------------------------------------------------------
# CPU


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    ticks: int  # utime + stime + cutime + cstime, in clock ticks


def parse_stat(line: str) -> ProcStat:
    """One ``/proc/<pid>/stat`` line. The command (field 2) may hold spaces and parentheses, so the
    fields are counted from its last ``)``: state is field 3, ppid 4, utime..cstime 14..17."""
    head, _, tail = line.rpartition(")")
    fields = tail.split()
    pid = int(head.split("(", 1)[0])
    return ProcStat(pid=pid, ppid=int(fields[1]), ticks=sum(int(f) for f in fields[11:15]))


def read_all_stats(proc: Path = Path("/proc")) -> dict[int, ProcStat]:
    stats: dict[int, ProcStat] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = parse_stat((entry / "stat").read_text())
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile
    return stats


def tree_ticks(root: int, stats: Mapping[int, ProcStat], *, children: bool = True) -> int | None:
    """Ticks of ``root`` and (if ``children``) its live descendants; None if ``root`` is gone."""
    if root not in stats:
        return None
    if not children:
        return stats[root].ticks
    kids: dict[int, list[int]] = {}
    for s in stats.values():
        kids.setdefault(s.ppid, []).append(s.pid)
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += stats[pid].ticks
        todo.extend(kids.get(pid, ()))
    return total


def parse_machine(line: str) -> tuple[int, int]:
    """(busy, iowait) ticks from the ``cpu`` line of ``/proc/stat``: busy is user + nice + system +
    irq + softirq + steal (idle and iowait left out; guest time is already inside user)."""
    fields = [int(f) for f in line.split()[1:]]
    user, nice, system, _idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal, iowait


def read_machine(path: Path = Path("/proc/stat")) -> tuple[int, int]:
    try:
        return parse_machine(path.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return 0, 0


def cores_used(ticks: int, wall_seconds: float, clk_tck: int = CLK_TCK) -> float:
    """Average number of cores busy over ``wall_seconds``."""
    return 0.0 if wall_seconds <= 0 else ticks / clk_tck / wall_seconds


def kafka_broker_pid(data_dir: Path, proc: Path = Path("/proc")) -> int | None:
    """The JVM running ``data_dir``'s ``server.properties`` (KafkaBroker keeps the Popen to itself and
    the private stack does not expose the broker), found by its command line."""
    props = str((data_dir / "server.properties").resolve()).encode()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"kafka.Kafka" in cmdline and props in cmdline:
            return int(entry.name)
    return None


def postgres_pid(data_dir: Path) -> int | None:
    """The postmaster, from the first line of ``postmaster.pid``; its backends are its children."""
    try:
        return int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


MACHINE_BUSY = "machine: all processes (busy)"
MACHINE_IOWAIT = "machine: iowait"


class CpuMeter:
    """CPU per named process tree between ``mark()`` and ``take()``, as average cores used."""

    def __init__(self, pids: Mapping[str, int], *, own: str | None = "bench (this process)") -> None:
        self.pids = dict(pids)
        self._own = own
        if own is not None:
            self.pids[own] = os.getpid()
        self._start: dict[str, int] = {}
        self._at = time.monotonic()

    def _read(self) -> dict[str, int]:
        stats = read_all_stats()
        busy, iowait = read_machine()
        # Every process on the machine, ours or not (others' heavy work shows as the difference).
        ticks: dict[str, int] = {MACHINE_BUSY: busy, MACHINE_IOWAIT: iowait}
        for name, pid in self.pids.items():
            # The benchmark's own children are the services: count it alone.
            value = tree_ticks(pid, stats, children=name != self._own)
            if value is not None:
                ticks[name] = value
        return ticks

    def mark(self) -> None:
        self._start = self._read()
        self._at = time.monotonic()

    def take(self) -> dict[str, float]:
        end, wall = self._read(), time.monotonic() - self._at
        return {name: round(cores_used(end[name] - self._start[name], wall), 3)
                for name in end if name in self._start}
