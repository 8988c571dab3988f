"""Pure arithmetic of ``make bench``: per-hop latencies, their percentiles, the open-loop schedule.

Every time here is a ``time.perf_counter()`` reading of the benchmark process, in seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sportello_deploy.percentiles import nearest_rank

# The hops of one message, in order, then the two cumulative spans; each is (from, to):
#   accept    POST start -> POST returned (ingest stored it and its outbox row)
#   score     POST returned -> message.scored seen on sportello.messages.scored.v1
#   assign    message.scored seen -> conversation.assigned seen on sportello.conversations.assignment.v1
#   visible   conversation.assigned seen -> the gateway shows the message and the owner (sampled)
#   e2e       POST start -> conversation.assigned seen (the headline figure)
#   e2e_visible POST start -> visible in the gateway (sampled)
HOPS = ("accept", "score", "assign", "visible", "e2e", "e2e_visible")
PERCENTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


@dataclass(frozen=True)
class Posted:
    """One message ingest accepted."""

    conversation_id: str
    message_id: str
    due: float  # when the schedule wanted it sent (= started for the closed loop)
    started: float  # POST start
    finished: float  # POST returned


def hop_latencies(posted: Sequence[Posted], scored: Mapping[str, float], assigned: Mapping[str, float],
                  visible: Mapping[str, float]) -> dict[str, list[float]]:
    """Seconds per hop. ``scored`` is keyed by message id; ``assigned`` and ``visible`` by
    conversation id (one message per conversation). A hop counts only when both of its ends were
    seen, so a sampled hop (visible) has fewer values than the others."""
    hops: dict[str, list[float]] = {name: [] for name in HOPS}
    for p in posted:
        hops["accept"].append(p.finished - p.started)
        score = scored.get(p.message_id)
        assign = assigned.get(p.conversation_id)
        seen = visible.get(p.conversation_id)
        if score is not None:
            hops["score"].append(score - p.finished)
            if assign is not None:
                hops["assign"].append(assign - score)
        if assign is not None:
            hops["e2e"].append(assign - p.started)
            if seen is not None:
                hops["visible"].append(seen - assign)
        if seen is not None:
            hops["e2e_visible"].append(seen - p.started)
    return hops


def summarise_ms(values: Sequence[float]) -> dict[str, float | int | None]:
    """n, p50, p95, p99 and max in milliseconds (nearest rank); None when nothing was measured."""
    out: dict[str, float | int | None] = {"n": len(values)}
    for name, q in PERCENTILES:
        out[name] = round(1000 * nearest_rank(values, q), 2) if values else None
    out["max"] = round(1000 * max(values), 2) if values else None
    return out


def throughput(count: int, first: float | None, last: float | None) -> float:
    """``count`` events between ``first`` and ``last``, per second (0 when undefined)."""
    if count == 0 or first is None or last is None or last <= first:
        return 0.0
    return count / (last - first)


def output_rate(times: Sequence[float]) -> float:
    """Events per second between the first and the last of ``times``: (n - 1) / span. The rate at
    which the pipeline delivered, without its latency in the span (0 for fewer than two events)."""
    if len(times) < 2:
        return 0.0
    return throughput(len(times) - 1, min(times), max(times))


def messages_for(rate: float, seconds: float) -> int:
    """How many messages a fixed-rate step of ``seconds`` at ``rate`` msg/s offers (at least 1)."""
    return max(1, round(rate * seconds))


def due_time(t0: float, rate: float, index: int) -> float:
    """Open loop: message ``index`` is due at t0 + index / rate, whatever happened before."""
    return t0 + index / rate


def behind_schedule(lateness: Sequence[float], tolerance: float) -> int:
    """How many sends started more than ``tolerance`` seconds after they were due."""
    return sum(1 for late in lateness if late > tolerance)
