"""``make bench`` results: one step's figures, the summary (the last line printed), the readable
table, and the files under ``results/bench-<timestamp>/`` (result.json, summary.txt, plot.png)."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sportello_deploy.bench_load import StepOutcome, Tracker
from sportello_deploy.bench_stats import HOPS, hop_latencies, output_rate, summarise_ms, throughput

SUMMARY_RATE = 500  # p50/p99 "at 500" are the headline latencies


def step_result(outcome: StepOutcome, tracker: Tracker, *, max_lag: Mapping[str, int],
                cpu_cores: Mapping[str, float]) -> dict[str, Any]:
    posted = outcome.posted
    hops = hop_latencies(posted, tracker.scored, tracker.assigned, tracker.visible)
    assigned_at = [tracker.assigned[p.conversation_id] for p in posted if p.conversation_id in tracker.assigned]
    first = min((p.started for p in posted), default=None)
    s = outcome.schedule
    return {
        "label": outcome.label,
        "offered_rate": outcome.offered_rate,
        "offered": s.sent + s.unsent,
        "messages": s.sent,
        "unsent": s.unsent,
        "accepted": len(posted),
        "failed": len(outcome.failures),
        "failure_kinds": dict(Counter(f.split(":", 1)[0] for f in outcome.failures)),
        "behind_schedule": s.behind,
        "max_lateness_ms": round(1000 * s.max_lateness_s, 1),
        "send_window_s": round(s.window_s, 3),
        "ingest_msgs_per_s": round(throughput(len(posted), first, max((p.finished for p in posted), default=None)), 1),
        "scored": sum(1 for p in posted if p.message_id in tracker.scored),
        "assigned": len(assigned_at),
        "queued": sum(1 for p in posted if p.conversation_id in tracker.queued),
        # Assignments per second from the first to the last (the rate the pipeline sustained), and
        # the same over first POST -> last assignment (one pipeline latency longer: lower on short steps).
        "e2e_msgs_per_s": round(output_rate(assigned_at), 1),
        "e2e_span_msgs_per_s": round(throughput(len(assigned_at), first, max(assigned_at, default=None)), 1),
        "drained": outcome.drained,
        "wall_s": round(outcome.wall_s, 2),
        "hops": {name: summarise_ms(hops[name]) for name in HOPS},
        "max_lag": dict(max_lag),
        "cpu_cores": dict(cpu_cores),
        # CPU time each process spent per message assigned in the step: what the fan-out of one
        # message costs, much less sensitive than msg/s to what else the machine runs.
        "cpu_ms_per_message": {name: round(1000 * cores * outcome.wall_s / len(assigned_at), 2)
                               for name, cores in cpu_cores.items()
                               if assigned_at and not name.startswith("machine")},
    }


def _e2e(step: Mapping[str, Any], key: str) -> Any:
    return step["hops"]["e2e"][key]


def summary(steps: Sequence[Mapping[str, Any]], raw: Mapping[str, Any] | None,
            extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The final JSON line: the best sustained end-to-end rate, the latencies at each offered rate
    (always ``p50_ms_at_500`` and ``p99_ms_at_500``, null without a 500 msg/s step), the raw Kafka
    reference and the ratio, then ``extra`` (decision benchmark, webhook)."""
    out: dict[str, Any] = {"e2e_msgs_per_s": max((s["e2e_msgs_per_s"] for s in steps), default=0.0)}
    fixed = [s for s in steps if s["offered_rate"] is not None]
    at_summary_rate = next((s for s in fixed if s["offered_rate"] == SUMMARY_RATE), None)
    out[f"p50_ms_at_{SUMMARY_RATE}"] = _e2e(at_summary_rate, "p50") if at_summary_rate else None
    out[f"p99_ms_at_{SUMMARY_RATE}"] = _e2e(at_summary_rate, "p99") if at_summary_rate else None
    for s in fixed:
        rate = f"{s['offered_rate']:g}"
        out[f"p50_ms_at_{rate}"] = _e2e(s, "p50")
        out[f"p99_ms_at_{rate}"] = _e2e(s, "p99")
        out[f"e2e_msgs_per_s_at_{rate}"] = s["e2e_msgs_per_s"]
        out[f"behind_schedule_at_{rate}"] = s["behind_schedule"]
        out[f"unsent_at_{rate}"] = s.get("unsent", 0)
    closed = next((s for s in steps if s["offered_rate"] is None), None)
    if closed is not None:
        out["max_rate_e2e_msgs_per_s"] = closed["e2e_msgs_per_s"]
        out["max_rate_ingest_msgs_per_s"] = closed["ingest_msgs_per_s"]
        out["max_rate_p50_ms"] = _e2e(closed, "p50")
        out["max_rate_p99_ms"] = _e2e(closed, "p99")
    raw_rate = raw["msgs_per_s"] if raw else None
    out["raw_kafka_msgs_per_s"] = raw_rate
    out["raw_kafka_p50_ms"] = raw["p50_ms"] if raw else None
    out["raw_kafka_p99_ms"] = raw["p99_ms"] if raw else None
    out["e2e_to_raw_ratio"] = round(out["e2e_msgs_per_s"] / raw_rate, 4) if raw_rate else None
    out.update(extra or {})
    return out


def gateway_keys(gateway: Mapping[str, Any]) -> dict[str, Any]:
    """The gateway benchmark's summary for the last line, each key prefixed ``gateway_``."""
    return {f"gateway_{key}": value for key, value in gateway.items()}


def _fmt(value: Any, width: int = 7) -> str:
    if value is None:
        return f"{'-':>{width}}"
    if isinstance(value, float):
        return f"{value:>{width}.{0 if abs(value) >= 100 else 1}f}"
    return f"{value!s:>{width}}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _cores(value: float | None) -> str:
    return f"{'-':>9}" if value is None else f"{value:>9.2f}"


def _step_name(step: Mapping[str, Any]) -> str:
    return "max" if step["offered_rate"] is None else f"{step['offered_rate']:g}/s"


def table(steps: Sequence[Mapping[str, Any]], raw: Mapping[str, Any] | None) -> str:
    names = [_step_name(s) for s in steps]
    columns = (("sent", 7), ("unsent", 7), ("behind", 7), ("late ms", 9), ("failed", 7), ("ingest/s", 9),
               ("scored", 7), ("assigned", 9), ("e2e/s", 8), ("span/s", 8), ("drained", 8), ("wall s", 8))
    lines = ["", "Throughput per step (offered msg/s; max = closed loop). behind: sends late by more than the",
             "tolerance, plus unsent (given up once a step ran --give-up times its duration). e2e/s: assignments",
             "per second from the first to the last; span/s: from the first POST to the last assignment.",
             f"  {'step':<8}" + "".join(f"{title:>{width}}" for title, width in columns)]
    for name, s in zip(names, steps, strict=True):
        values = (s["messages"], s.get("unsent", 0), s["behind_schedule"], s["max_lateness_ms"], s["failed"],
                  s["ingest_msgs_per_s"], s["scored"], s["assigned"], s["e2e_msgs_per_s"],
                  s.get("e2e_span_msgs_per_s"), "yes" if s["drained"] else "NO", s["wall_s"])
        lines.append(f"  {name:<8}" + "".join(_fmt(v, w) for v, (_, w) in zip(values, columns, strict=True)))
    lines += ["", "Latency per hop, ms p50 / p95 / p99 (visible and e2e_visible: gateway sample, n shown)",
              f"  {'step':<8}" + "".join(f"{hop:>25}" for hop in HOPS)]
    for name, s in zip(names, steps, strict=True):
        cells = []
        for hop in HOPS:
            h = s["hops"][hop]
            cell = "/".join(_ms(h[p]) for p in ("p50", "p95", "p99"))
            if hop.endswith("visible"):
                cell += f" n={h['n']}"
            cells.append(f" {cell:>24}")
        lines.append(f"  {name:<8}" + "".join(cells))
    groups = sorted({g for s in steps for g in s["max_lag"]})
    lines += ["", "Max consumer lag per group (records behind, sampled every second)",
              f"  {'group':<34}" + "".join(f"{n:>9}" for n in names)]
    lines += [f"  {g:<34}" + "".join(_fmt(s["max_lag"].get(g), 9) for s in steps) for g in groups]
    procs = sorted({p for s in steps for p in s["cpu_cores"] if not p.startswith("machine")})
    machine = sorted({p for s in steps for p in s["cpu_cores"] if p.startswith("machine")})
    lines += ["", f"CPU, average cores used over each step (send + drain; this machine has "
              f"{os.cpu_count()} cores)", f"  {'process':<34}" + "".join(f"{n:>9}" for n in names)]
    lines += [f"  {p:<34}" + "".join(_cores(s["cpu_cores"].get(p)) for s in steps) for p in procs]
    if procs:
        lines.append(f"  {'total (the processes above)':<34}" + "".join(
            _cores(sum(v for p, v in s["cpu_cores"].items() if not p.startswith("machine"))) for s in steps))
    lines += [f"  {p:<34}" + "".join(_cores(s["cpu_cores"].get(p)) for s in steps) for p in machine]
    if procs:
        lines += ["", "CPU milliseconds per message assigned (CPU time over the step / messages assigned)",
                  f"  {'process':<34}" + "".join(f"{n:>9}" for n in names)]
        lines += [f"  {p:<34}" + "".join(_fmt(s.get("cpu_ms_per_message", {}).get(p), 9) for s in steps)
                  for p in procs]
        lines.append(f"  {'total (the processes above)':<34}" + "".join(
            _fmt(round(sum(s.get("cpu_ms_per_message", {}).values()), 1), 9) for s in steps))
    failures = [f"{n}: " + ", ".join(f"{k} x{v}" for k, v in s["failure_kinds"].items())
                for n, s in zip(names, steps, strict=True) if s.get("failure_kinds")]
    if failures:
        lines += ["", "Failed POSTs: " + "; ".join(failures)]
    if raw:
        lines += ["", f"Raw Kafka reference: {raw['messages']} records of {raw['record_bytes']} bytes, "
                  f"produce -> consume {raw['msgs_per_s']:.0f} msg/s (produce alone "
                  f"{raw['produce_msgs_per_s']:.0f} msg/s), p50 {raw['p50_ms']} ms p99 {raw['p99_ms']} ms"]
    return "\n".join(lines)


def plot(steps: Sequence[Mapping[str, Any]], raw: Mapping[str, Any] | None, path: Path) -> None:
    """Left: ingest -> assigned p50/p99 against the offered rate. Right: achieved throughput."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fixed = sorted((s for s in steps if s["offered_rate"] is not None), key=lambda s: s["offered_rate"])
    closed = next((s for s in steps if s["offered_rate"] is None), None)
    rates = [s["offered_rate"] for s in fixed]
    fig, (lat, thr) = plt.subplots(1, 2, figsize=(11, 4.5))
    for key, marker in (("p50", "o"), ("p99", "s")):
        lat.plot(rates, [_e2e(s, key) for s in fixed], marker=marker, label=f"{key} ingest -> assigned")
        if closed is not None and _e2e(closed, key) is not None:
            lat.axhline(_e2e(closed, key), linestyle=":", color="grey")
    lat.set_xlabel("offered rate (msg/s)")
    lat.set_ylabel("latency (ms)")
    if any(_e2e(s, "p99") for s in fixed):
        lat.set_yscale("log")
    lat.set_title("Latency vs offered rate (dotted: max-rate step)")
    lat.legend()
    thr.plot(rates, [s["e2e_msgs_per_s"] for s in fixed], marker="o", label="end-to-end (assigned)")
    thr.plot(rates, [s["ingest_msgs_per_s"] for s in fixed], marker="^", label="ingest accepted")
    if rates:
        thr.plot(rates, rates, linestyle="--", color="grey", label="offered")
    if closed is not None:
        thr.axhline(closed["e2e_msgs_per_s"], linestyle=":", color="red",
                    label=f"max-rate step e2e ({closed['e2e_msgs_per_s']:.0f}/s)")
    achieved = [s["e2e_msgs_per_s"] for s in fixed if s["e2e_msgs_per_s"] > 0]
    if rates and achieved and min(achieved) < max(rates) / 10:
        thr.set_yscale("log")  # far below the offered rate: keep the achieved points readable
    thr.set_xlabel("offered rate (msg/s)")
    thr.set_ylabel("achieved (msg/s)")
    thr.set_title("Throughput" + (f" (raw Kafka {raw['msgs_per_s']:.0f} msg/s)" if raw else ""))
    thr.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(result: Mapping[str, Any], text: str, root: Path,
                  now: datetime | None = None) -> Path:
    """``root/bench-<UTC timestamp>/`` with result.json, summary.txt and plot.png; returns the folder."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    folder = root / f"bench-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (folder / "summary.txt").write_text(text + "\n")
    plot(result.get("steps", []), result.get("raw_kafka"), folder / "plot.png")
    return folder
