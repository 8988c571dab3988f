"""``make faults``: nothing lost, nothing duplicated while the stack crashes under load.

Starts a private stack (its own Kafka broker, PostgreSQL and the five services as processes) and
POSTs messages to ingest at a steady rate: distinct customers, many writing several messages so
conversations hold more than one. A POST that fails (connection refused or reset, timeout, 5xx) is
retried with the SAME external id, as a real integration does; ingest deduplicates on (channel,
external id), so a retry of a post that was in fact stored must come back as the same message (a
share of accepted messages is also POSTed a second time to check exactly that).

Meanwhile, one after the other with a pause in between, it SIGKILLs each service and starts it again,
restarts the Kafka broker (SIGKILL by default) and restarts PostgreSQL (an ``immediate`` shutdown, a
crash, by default). Kafka and PostgreSQL come back on the same port/socket and data: the services
must reconnect by themselves. A service that does not (not ready, or a consumer group / outbox that
stops moving) is a finding: it is then restarted, counted and reported, so the run can go on.

After the load it waits until the system settles: every accepted message visible in the gateway,
scored, its conversation assigned; or nothing left to do (no consumer lag, empty outboxes) while
some still are not, which makes them lost for good; or a timeout. Then it compares what was accepted
with what is stored in ingest's table and shown by the gateway's API: ``lost``, ``duplicated``,
``unassigned``. ``recovery_s`` per fault is the time from the fault until a message posted after it
that opened a conversation (so it crossed ingest, priority, assignment and the gateway) was visible,
scored and assigned in the gateway; ``caught_up_s`` until new messages were again delivered about as
fast as before the fault (the outage's backlog drained; the next fault waits for it). The last line
printed is one JSON object, also written to ``results/faults-<timestamp>.json`` (the services' logs
next to it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from sportello_deploy.faults_load import Load, LoadShape, Post
from sportello_deploy.faults_observe import (
    Backlog,
    Gateway,
    backlog,
    dead_letters,
    delivered,
    ingest_rows,
    log_findings,
    log_notes,
    log_sizes,
    progress,
    ready_checks,
    stalled,
)
from sportello_deploy.private_stack import PrivateStack, private_stack
from sportello_deploy.processes import SERVICES

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICE_FAULTS: tuple[str, ...] = tuple(SERVICES)  # ingest, priority, assignment, crm-sync, gateway
INFRA_FAULTS: tuple[str, ...] = ("kafka", "postgres")
ALL_FAULTS: tuple[str, ...] = SERVICE_FAULTS + INFRA_FAULTS
AGENT_CAPACITY = 50  # the most the assignment API allows per agent

Say = Callable[[str], None]


@dataclass(frozen=True)
class FaultsConfig:
    rate: float = 10.0                 # POSTs started per second (open loop; below capacity, see make bench)
    seconds: float = 120.0             # load duration at least; it lasts until the last fault is over
    warmup: float = 10.0               # load before the first fault (also measures the baseline)
    pause: float = 5.0                 # between one fault's recovery and the next fault
    tail: float = 5.0                  # load kept up after the last fault at least
    faults: tuple[str, ...] = ALL_FAULTS
    kafka_kill: bool = True            # SIGKILL the broker (else SIGTERM: a clean shutdown)
    postgres_mode: str = "immediate"   # pg_ctl stop mode: immediate (a crash) or fast (clean)
    down_seconds: float = 2.0          # how long Kafka / PostgreSQL stay down
    recovery_timeout: float = 90.0     # after a restart, before looking for services that are stuck
    settle_timeout: float = 300.0      # after the load, for everything to become visible
    concurrency: int = 48              # POSTs in flight at most
    new_customer_share: float = 0.4    # share of messages from a customer not seen before
    max_per_customer: int = 5          # messages per customer at most
    resend_share: float = 0.05         # accepted messages POSTed once more (must come back duplicate)
    log_level: str = "INFO"
    seed: int | None = None

    def __post_init__(self) -> None:
        unknown = [f for f in self.faults if f not in ALL_FAULTS]
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {', '.join(ALL_FAULTS)}")
        if self.postgres_mode not in ("fast", "immediate"):
            raise ValueError(f"postgres_mode must be fast or immediate, not {self.postgres_mode}")

    def load_shape(self) -> LoadShape:
        return LoadShape(rate=self.rate, concurrency=self.concurrency,
                         new_customer_share=self.new_customer_share,
                         max_per_customer=self.max_per_customer, resend_share=self.resend_share)

    def agents(self) -> int:
        """Enough agents that no conversation waits in the queue for capacity."""
        expected = self.rate * (self.seconds + 60 * len(self.faults)) * self.new_customer_share
        return max(4, int(expected * 1.5) // AGENT_CAPACITY + 2)


def stack_env(config: FaultsConfig) -> dict[str, str]:
    agents = [{"name": f"agent-{i}", "team": "faults", "capacity": AGENT_CAPACITY, "presence": "online"}
              for i in range(config.agents())]
    never = 7 * 24 * 3600
    return {
        "SPORTELLO_ASSIGNMENT_SEED_AGENTS": json.dumps(agents),
        # Nobody replies during the run: no re-assignment or "away" churn while it lasts.
        "SPORTELLO_ASSIGNMENT_REPLY_TIMEOUT_SECONDS": json.dumps(
            {"urgent": never, "high": never, "normal": never, "low": never}),
        "SPORTELLO_ASSIGNMENT_AUTO_AWAY_SECONDS": "0",
        "SPORTELLO_OUTBOX_POLL_SECONDS": "0.2",
        "SPORTELLO_SHUTDOWN_GRACE_SECONDS": "10",
        "SPORTELLO_LOG_LEVEL": config.log_level,
    }


# --------------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------------


@dataclass
class FaultResult:
    fault: str
    at: float                              # monotonic, when the kill/stop began
    back_s: float | None = None            # until the restarted part was up again
    recovery_s: float | None = None        # until a message posted after it was delivered end to end
    caught_up_s: float | None = None       # until new messages were delivered as fast as before
    probe: str | None = None               # that message's external id
    stuck: dict[str, str] = field(default_factory=dict)  # service -> why it was deemed stuck
    extra_restarts: list[str] = field(default_factory=list)  # services that had to be restarted
    error: str | None = None
    log_offsets: dict[str, int] = field(default_factory=dict)
    log_findings: dict[str, dict[str, int]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "back_s": _round(self.back_s),
            "recovery_s": _round(self.recovery_s),
            "caught_up_s": _round(self.caught_up_s),
            "probe": self.probe,
            "stuck": self.stuck,
            "extra_restarts": self.extra_restarts,
            "error": self.error,
            "log_findings": self.log_findings,
        }


def describe_fault(fault: str, *, kafka_kill: bool = True, postgres_mode: str = "immediate",
                   down_seconds: float = 2.0) -> str:
    if fault == "kafka":
        return f"kafka {'SIGKILL' if kafka_kill else 'SIGTERM'}, {down_seconds:g}s down, restart"
    if fault == "postgres":
        return f"postgres stop -m {postgres_mode}, {down_seconds:g}s down, restart"
    return f"{fault} SIGKILL, restart"


def apply_fault(stack: PrivateStack, fault: str, config: FaultsConfig) -> None:
    """Blocking: crash ``fault`` and bring it back (the caller runs this in a thread)."""
    if fault == "kafka":
        stack.restart_kafka(kill=config.kafka_kill, down_seconds=config.down_seconds)
    elif fault == "postgres":
        mode = "immediate" if config.postgres_mode == "immediate" else "fast"
        stack.restart_postgres(mode=mode, down_seconds=config.down_seconds)
    else:
        stack.restart_service(fault)


async def find_stuck(stack: PrivateStack, client: httpx.AsyncClient, look: float = 20.0) -> dict[str, str]:
    """Services that did not recover: not ready, or with work waiting and no progress for ``look``
    seconds (no record handled, no event relayed)."""
    stuck = {name: f"not ready: {state}" for name, state in (await ready_checks(stack, client)).items()
             if state != "ok"}
    before = await progress(stack, client)
    await asyncio.sleep(look)
    waiting = await backlog(stack)
    after = await progress(stack, client)
    if waiting is not None:
        for name, why in stalled(waiting, before, after).items():
            stuck.setdefault(name, why)
    return stuck


async def run_faults(stack: PrivateStack, config: FaultsConfig, load: Load, gateway: Gateway,
                     client: httpx.AsyncClient, say: Say) -> tuple[float | None, list[FaultResult]]:
    """Warm up, measure the baseline, then each fault in turn: crash, restart, wait for recovery."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(config.warmup)
    seen = await gateway.first_delivery_since(load, loop.time(), config.recovery_timeout)
    baseline = None if seen is None else seen[0] - seen[1].first_try
    say(f"baseline: a new conversation is delivered end to end in {_fmt(baseline)} s")
    results: list[FaultResult] = []
    for fault in config.faults:
        result = FaultResult(fault, loop.time(), log_offsets=log_sizes(stack))
        results.append(result)
        say(f"fault: {describe(fault, config)}")
        # Watch from the fault on, while the part restarts: what does not depend on it may go on.
        probe = asyncio.create_task(gateway.first_delivery_since(load, result.at, 24 * 3600))
        try:
            try:
                await asyncio.to_thread(apply_fault, stack, fault, config)
            except Exception as exc:  # a part that does not come back is a result, not a tool crash
                result.error = f"{type(exc).__name__}: {str(exc)[:2000]}"
                say(f"  {fault} did not come back: {result.error[:300]}")
            result.back_s = loop.time() - result.at
            seen = await _wait(probe, config.recovery_timeout)
            if seen is None:
                result.stuck = await find_stuck(stack, client)
                say(f"  nothing delivered {config.recovery_timeout:g} s after the restart; stuck: "
                    f"{result.stuck or 'none found'}")
                for name in result.stuck:
                    say(f"  restarting {name} (counted as an extra restart)")
                    try:
                        await asyncio.to_thread(stack.restart_service, name)
                    except Exception as exc:
                        say(f"  {name} failed to restart: {exc!r}"[:500])
                    result.extra_restarts.append(name)
                if result.stuck:
                    seen = await _wait(probe, config.recovery_timeout)
                # else: every part works, the pipeline is only behind (overloaded): go on.
        finally:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe
        if seen is not None:
            result.recovery_s, result.probe = seen[0] - result.at, seen[1].external_id
            # The backlog of the outage drains before the next fault, so each fault is measured
            # on its own: caught up once a new message is delivered about as fast as before.
            caught_up = await _caught_up(load, gateway, baseline, config.recovery_timeout)
            result.caught_up_s = None if caught_up is None else caught_up - result.at
        say(f"  back after {_fmt(result.back_s)} s, delivering again after {_fmt(result.recovery_s)} s,"
            f" caught up after {_fmt(result.caught_up_s)} s")
        await asyncio.sleep(config.pause)
    return baseline, results


async def _caught_up(load: Load, gateway: Gateway, baseline: float | None, within: float) -> float | None:
    """When a message posted after the recovery was delivered within the usual latency (three times
    the baseline, at least the baseline + 5 s); None if that did not happen within ``within``."""
    loop = asyncio.get_running_loop()
    usual = max(3 * (baseline or 1.0), (baseline or 1.0) + 5.0)
    deadline = loop.time() + within
    while loop.time() < deadline:
        seen = await gateway.first_delivery_since(load, loop.time(), deadline - loop.time())
        if seen is None:
            return None
        if seen[0] - seen[1].first_try <= usual:
            return seen[0]
    return None


async def _wait(task: asyncio.Task[tuple[float, Post] | None],
                seconds: float) -> tuple[float, Post] | None:
    """The task's result if it finishes within ``seconds`` (the task keeps running otherwise)."""
    done, _ = await asyncio.wait({task}, timeout=seconds)
    return task.result() if done else None


def describe(fault: str, config: FaultsConfig) -> str:
    return describe_fault(fault, kafka_kill=config.kafka_kill, postgres_mode=config.postgres_mode,
                          down_seconds=config.down_seconds)


# --------------------------------------------------------------------------------------------------
# Settling and comparing
# --------------------------------------------------------------------------------------------------


def expected_by_conversation(accepted: Iterable[Post]) -> dict[str, set[str]]:
    expected: dict[str, set[str]] = {}
    for post in accepted:
        assert post.conversation_id is not None
        expected.setdefault(post.conversation_id, set()).add(post.external_id)
    return expected


def _complete(body: dict[str, Any] | None, external_ids: set[str]) -> bool:
    return body is not None and all(delivered(body, e) for e in external_ids)


async def settle(stack: PrivateStack, gateway: Gateway, accepted: Sequence[Post],
                 within: float) -> tuple[str, float, Backlog | None]:
    """Poll the gateway until every accepted message is delivered ("complete"), or nothing is left
    to do while some are not ("idle": three looks in a row with no consumer lag and empty outboxes,
    those are lost for good), or ``within`` seconds passed ("timeout"). Returns the outcome, the time
    it took and the last backlog seen."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    pending = expected_by_conversation(accepted)
    idle_looks = 0
    last: Backlog | None = None
    while True:
        views = await gateway.conversations(list(pending))
        for conversation_id, body in views.items():
            if _complete(body, pending[conversation_id]):
                del pending[conversation_id]
        if not pending:
            return "complete", loop.time() - started, await backlog(stack)
        last = await backlog(stack)
        idle_looks = idle_looks + 1 if last is not None and last.empty else 0
        if idle_looks >= 3:
            return "idle", loop.time() - started, last
        if loop.time() - started > within:
            return "timeout", loop.time() - started, last
        await asyncio.sleep(2.0)


@dataclass
class Comparison:
    accepted: int
    lost_gateway: list[str]
    lost_ingest: list[str]
    duplicated_gateway: list[str]
    duplicated_ingest: list[str]
    misplaced: list[str]        # shown in another conversation than the one ingest answered with
    unknown: list[str]          # stored/shown but never accepted (a post given up on)
    unassigned: list[str]       # conversations
    unscored: list[str]         # accepted messages shown without a score
    conversations: int
    multi_message_conversations: int
    stored_ingest: int
    shown_gateway: int

    @property
    def lost(self) -> set[str]:
        return set(self.lost_gateway) | set(self.lost_ingest)

    @property
    def duplicated(self) -> set[str]:
        return set(self.duplicated_gateway) | set(self.duplicated_ingest)


def compare(accepted: Sequence[Post], views: dict[str, dict[str, Any] | None],
            ingest_rows: Sequence[tuple[str, str, str]]) -> Comparison:
    by_id = {p.external_id: p for p in accepted}
    expected = expected_by_conversation(accepted)
    # Gateway: every message shown, wherever it is shown.
    shown: dict[str, list[tuple[str, str]]] = {}
    unassigned: list[str] = []
    unscored: list[str] = []
    for conversation_id, body in views.items():
        if body is None:
            unassigned.append(conversation_id)
            continue
        if body.get("assignment", {}).get("state") != "assigned":
            unassigned.append(conversation_id)
        for message in body.get("messages", ()):
            external_id = message.get("external_id")
            if external_id is None:
                continue
            shown.setdefault(external_id, []).append((conversation_id, str(message.get("id"))))
            if external_id in by_id and message.get("score") is None:
                unscored.append(external_id)
    duplicated_gateway = sorted(
        e for e, places in shown.items()
        if len(places) > 1 or (e in by_id and places[0][1] != by_id[e].message_id))
    misplaced = sorted(e for e, places in shown.items()
                       if e in by_id and any(c != by_id[e].conversation_id for c, _ in places))
    # Ingest: its table (the unique constraint on (channel, external_id) should make a second row
    # impossible; a different message id than the one answered means a retry created a new message).
    stored: dict[str, list[tuple[str, str]]] = {}
    for external_id, message_id, conversation_id in ingest_rows:
        stored.setdefault(external_id, []).append((message_id, conversation_id))
    duplicated_ingest = sorted(
        e for e, rows in stored.items()
        if len(rows) > 1 or (e in by_id and rows[0][0] != by_id[e].message_id))
    return Comparison(
        accepted=len(accepted),
        lost_gateway=sorted(e for e in by_id if e not in shown),
        lost_ingest=sorted(e for e in by_id if e not in stored),
        duplicated_gateway=duplicated_gateway,
        duplicated_ingest=duplicated_ingest,
        misplaced=misplaced,
        unknown=sorted((set(shown) | set(stored)) - set(by_id)),
        unassigned=sorted(unassigned),
        unscored=sorted(set(unscored)),
        conversations=len(expected),
        multi_message_conversations=sum(1 for e in expected.values() if len(e) > 1),
        stored_ingest=len(ingest_rows),
        shown_gateway=sum(len(v) for v in shown.values()),
    )


# --------------------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------------------


async def run_scenario(stack: PrivateStack, config: FaultsConfig, say: Say = print) -> dict[str, Any]:
    """Load + faults + settle + compare on a running private stack; returns the summary."""
    rng = random.Random(config.seed)
    loop = asyncio.get_running_loop()
    load = Load(stack, config.load_shape(), rng)
    stop = asyncio.Event()
    async with httpx.AsyncClient(timeout=10) as client:
        gateway = Gateway(stack, client)
        load_task = asyncio.create_task(load.run(stop))
        started = loop.time()
        try:
            baseline, results = await run_faults(stack, config, load, gateway, client, say)
            await asyncio.sleep(max(config.seconds - (loop.time() - started), config.tail))
        finally:
            stop.set()
            await load_task
        load_s = load.stopped_at - load.started_at
        say(f"load stopped after {load_s:.0f} s: {len(load.posts)} posted, {len(load.accepted)} "
            "accepted; waiting for the system to settle")
        accepted = [p for p in load.accepted if p.outcome in ("accepted", "duplicate")]
        settled, settle_s, left = await settle(stack, gateway, accepted, config.settle_timeout)
        say(f"settle: {settled} after {settle_s:.0f} s; comparing")
        views = await gateway.conversations(list(expected_by_conversation(accepted)))
        stored = await ingest_rows(stack, load.run_id)
        dlt = await dead_letters(stack.bootstrap)
    sizes = log_sizes(stack)
    for i, result in enumerate(results):
        following = results[i + 1].log_offsets if i + 1 < len(results) else sizes
        for name in stack.services:
            found = log_findings(stack.log_path(name), result.log_offsets.get(name, 0),
                                 following.get(name))
            if found:
                result.log_findings[name] = found
    comparison = compare(accepted, views, stored)
    summary = summarise(config, load, load_s, baseline, results, comparison, dlt)
    # After a timeout with work still queued, a message not shown yet may only be late.
    summary.update(settled=settled, settle_s=_round(settle_s), lost_final=settled != "timeout",
                   backlog_at_end=None if left is None else left.summary())
    return summary


def summarise(config: FaultsConfig, load: Load, load_s: float, baseline: float | None,
              results: Sequence[FaultResult], comparison: Comparison,
              dlt: dict[str, int]) -> dict[str, Any]:
    recoveries = [r.recovery_s for r in results]
    known = [r for r in recoveries if r is not None]
    retried = [p for p in load.accepted if p.attempts > 1]
    return {
        "accepted": comparison.accepted,
        "lost": len(comparison.lost),
        "duplicated": len(comparison.duplicated),
        "unassigned": len(comparison.unassigned),
        # None when some fault never recovered: a max over the others would hide it.
        "recovery_s": _round(max(known)) if known and len(known) == len(recoveries) else None,
        "recovery_by_fault": {r.fault: _round(r.recovery_s) for r in results},
        "restart_by_fault": {r.fault: _round(r.back_s) for r in results},
        "caught_up_by_fault": {r.fault: _round(r.caught_up_s) for r in results},
        "extra_restarts": sum(len(r.extra_restarts) for r in results),
        "baseline_delivery_s": _round(baseline),
        "posted": len(load.posts),
        "rate_target": config.rate,
        "rate_achieved": _round(len(load.posts) / load_s if load_s else None),
        "load_s": _round(load_s),
        "conversations": comparison.conversations,
        "multi_message_conversations": comparison.multi_message_conversations,
        "retried_posts": len(retried),
        "retries_answered_duplicate": sum(1 for p in retried if p.outcome == "duplicate"),
        "resent": load.resent,
        "resend_mismatches": len(load.resend_mismatches),
        "post_failures": dict(load.failures.most_common()),
        "given_up": len(load.given_up),
        "not_accepted": sum(1 for p in load.posts if p.status is not None and not p.accepted),
        "lost_gateway": len(comparison.lost_gateway),
        "lost_ingest": len(comparison.lost_ingest),
        "duplicated_gateway": len(comparison.duplicated_gateway),
        "duplicated_ingest": len(comparison.duplicated_ingest),
        "misplaced": len(comparison.misplaced),
        "unknown": len(comparison.unknown),
        "unscored": len(comparison.unscored),
        "stored_ingest": comparison.stored_ingest,
        "shown_gateway": comparison.shown_gateway,
        "dead_lettered": dlt,
        "examples": {
            "lost": sorted(comparison.lost)[:10],
            "duplicated": sorted(comparison.duplicated)[:10],
            "unassigned": comparison.unassigned[:10],
            "unscored": comparison.unscored[:10],
            "resend_mismatches": load.resend_mismatches[:10],
        },
        "faults": [r.summary() for r in results],
        "config": {
            "rate": config.rate, "seconds": config.seconds, "faults": list(config.faults),
            "kafka_kill": config.kafka_kill, "postgres_mode": config.postgres_mode,
            "down_seconds": config.down_seconds, "pause": config.pause,
        },
    }


def run(config: FaultsConfig, *, say: Say = print, logs_to: Path | None = None) -> dict[str, Any]:
    """Start a private stack, run the scenario on it, tear it down; optionally keep its logs."""
    say(f"starting a private stack (Kafka, PostgreSQL, {len(SERVICES)} services)...")
    started = time.monotonic()
    with private_stack("faults", **stack_env(config)) as stack:
        say(f"stack up in {time.monotonic() - started:.0f} s; logs in {stack.work / 'logs'}")
        try:
            summary = asyncio.run(run_scenario(stack, config, say))
        finally:
            if logs_to is not None:
                copy_logs(stack, logs_to)
                say(f"logs copied to {logs_to}")
    if logs_to is not None:
        summary["logs"] = str(logs_to)
    return summary


def copy_logs(stack: PrivateStack, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in stack.services:
        with contextlib.suppress(OSError):
            shutil.copy2(stack.log_path(name), target / f"{name}.log")
    if stack.broker is not None:
        with contextlib.suppress(OSError):
            shutil.copy2(stack.broker.server_log, target / "kafka-server.log")
    if stack.postgres is not None:
        with contextlib.suppress(OSError):
            shutil.copy2(stack.postgres.data_dir / "log", target / "postgres.log")


def passed(summary: dict[str, Any]) -> bool:
    """Nothing lost, nothing duplicated, every conversation assigned, every message scored, every
    re-send deduplicated."""
    return (summary["lost"] == 0 and summary["duplicated"] == 0 and summary["unassigned"] == 0
            and summary["unscored"] == 0 and summary["resend_mismatches"] == 0)


def format_table(summary: dict[str, Any]) -> str:
    config = summary["config"]
    lines = ["", f"{'fault':<46} {'back s':>7} {'recovery s':>11} {'caught up s':>12}  notes"]
    for fault in summary["faults"]:
        notes = []
        if fault["extra_restarts"]:
            notes.append(f"STUCK, had to restart {', '.join(fault['extra_restarts'])}")
        if fault["error"]:
            notes.append(f"error: {fault['error'][:80]}")
        notes += log_notes(fault["log_findings"])
        name = describe_fault(fault["fault"], kafka_kill=config["kafka_kill"],
                              postgres_mode=config["postgres_mode"], down_seconds=config["down_seconds"])
        lines.append(f"{name:<46} {_fmt(fault['back_s']):>7} {_fmt(fault['recovery_s']):>11} "
                     f"{_fmt(fault['caught_up_s']):>12}  {'; '.join(notes)}")
    lines += [
        "(seconds from the fault: back = the part is up again; recovery = a conversation opened after "
        "the fault is delivered end to end; caught up = new ones are delivered about as fast as before)",
        "",
        f"baseline delivery {_fmt(summary['baseline_delivery_s'])} s; max recovery "
        f"{_fmt(summary['recovery_s'])} s; extra restarts {summary['extra_restarts']}",
        f"posted {summary['posted']} at {_fmt(summary['rate_achieved'])} msg/s over "
        f"{_fmt(summary['load_s'])} s; accepted {summary['accepted']} in {summary['conversations']} "
        f"conversations ({summary['multi_message_conversations']} with several messages); "
        f"{summary['retried_posts']} posts retried, {summary['retries_answered_duplicate']} of them "
        "answered 'duplicate' (stored by an earlier try)",
        f"re-sent {summary['resent']} accepted messages: {summary['resend_mismatches']} not answered "
        "as the same message",
        f"settle: {summary['settled']} ({_fmt(summary['settle_s'])} s), backlog left "
        f"{summary['backlog_at_end'] or 'none'}; stored in ingest {summary['stored_ingest']}, shown by "
        f"the gateway {summary['shown_gateway']}",
        f"LOST {summary['lost']}{'' if summary['lost_final'] else ' NOT FINAL (settle timed out)'} "
        f"(gateway {summary['lost_gateway']}, ingest {summary['lost_ingest']})  "
        f"DUPLICATED {summary['duplicated']} (gateway {summary['duplicated_gateway']}, ingest "
        f"{summary['duplicated_ingest']})  UNASSIGNED {summary['unassigned']}  unscored "
        f"{summary['unscored']}  misplaced {summary['misplaced']}  dead-lettered "
        f"{sum(summary['dead_lettered'].values())} {summary['dead_lettered'] or ''}",
    ]
    return "\n".join(lines)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def parse_args(argv: Sequence[str] | None = None) -> FaultsConfig:
    defaults = FaultsConfig()
    parser = argparse.ArgumentParser(prog="python -m sportello_deploy.faults",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, default=defaults.rate, help="messages per second")
    parser.add_argument("--seconds", type=float, default=defaults.seconds,
                        help="load duration at least (it lasts until the last fault is over)")
    parser.add_argument("--faults", default=",".join(defaults.faults),
                        help=f"comma separated, in order; any of {', '.join(ALL_FAULTS)}")
    parser.add_argument("--pause", type=float, default=defaults.pause, help="seconds between faults")
    parser.add_argument("--warmup", type=float, default=defaults.warmup)
    parser.add_argument("--down-seconds", type=float, default=defaults.down_seconds,
                        help="how long Kafka and PostgreSQL stay down")
    parser.add_argument("--kafka-sigterm", action="store_true",
                        help="stop the broker cleanly (default: SIGKILL)")
    parser.add_argument("--postgres-mode", choices=("immediate", "fast"), default=defaults.postgres_mode,
                        help="pg_ctl stop mode (immediate: a crash; fast: clean)")
    parser.add_argument("--recovery-timeout", type=float, default=defaults.recovery_timeout)
    parser.add_argument("--settle-timeout", type=float, default=defaults.settle_timeout)
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--log-level", default=defaults.log_level, help="the services' log level")
    args = parser.parse_args(argv)
    return replace(defaults, rate=args.rate, seconds=args.seconds,
                   faults=tuple(f.strip() for f in args.faults.split(",") if f.strip()),
                   pause=args.pause, warmup=args.warmup, down_seconds=args.down_seconds,
                   kafka_kill=not args.kafka_sigterm, postgres_mode=args.postgres_mode,
                   recovery_timeout=args.recovery_timeout, settle_timeout=args.settle_timeout,
                   concurrency=args.concurrency, seed=args.seed, log_level=args.log_level)


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = REPO_ROOT / "results"

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    summary = run(config, say=say, logs_to=results / f"faults-{stamp}-logs")
    print(format_table(summary))
    results.mkdir(exist_ok=True)
    path = results / f"faults-{stamp}.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"written to {path}")
    print(json.dumps(summary))
    return 0 if passed(summary) else 1


if __name__ == "__main__":
    sys.exit(main())
