"""What a run is judged on, from its records.

- **FRT** (first response time) per conversation: first agent reply minus first customer message. A
  conversation nobody answered before the run ended counts ``end - arrival`` and an SLA miss: dropping
  it would reward a policy for starving conversations past the end of the run.
- ``sla_hit``: share of conversations whose first reply came at or before the first-response deadline
  the router gave when the conversation arrived. Conversations without a deadline (a band with no SLA
  target) are left out of the SLA rates only; ``sla_conversations`` says how many count.
- ``top_decile_sla_hit``: the same over the conversations whose priority *at arrival* is at or above
  the 90th percentile of arrival priorities (ties included, so it can be more than 10%).
- ``utilisation``: handling time / online time, summed over agents (presence online, which includes
  the silent breaks an agent did not announce: the team pays for that time too).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sportello_deploy.simulate.calibration import percentile


@dataclass
class ConversationRecord:
    conversation_id: uuid.UUID
    arrival: datetime
    priority: float  # at arrival
    band: str
    deadline: datetime | None
    first_reply_at: datetime | None = None
    reassignments: int = 0  # times it was moved away from an agent (to another, or back to the queue)


@dataclass(frozen=True)
class AgentRecord:
    agent_id: uuid.UUID
    busy_s: float
    online_s: float
    most_held: int
    capacity: int
    lost_work_s: float = 0.0


@dataclass(frozen=True)
class RunRecords:
    conversations: Sequence[ConversationRecord]
    agents: Sequence[AgentRecord]
    start: datetime
    end: datetime
    moves: dict[str, int] = field(default_factory=dict)  # reassignments by the router's reason


def frt_s(record: ConversationRecord, end: datetime) -> float:
    answered = record.first_reply_at if record.first_reply_at is not None else end
    return max(0.0, (answered - record.arrival).total_seconds())


def hit(record: ConversationRecord) -> bool:
    return (record.deadline is not None and record.first_reply_at is not None
            and record.first_reply_at <= record.deadline)


def _rate(records: Sequence[ConversationRecord]) -> float | None:
    with_sla = [r for r in records if r.deadline is not None]
    return round(sum(hit(r) for r in with_sla) / len(with_sla), 4) if with_sla else None


def top_decile(records: Sequence[ConversationRecord]) -> list[ConversationRecord]:
    if not records:
        return []
    threshold = percentile([r.priority for r in records], 0.9)
    return [r for r in records if r.priority >= threshold]


def _headline(answered: Sequence[tuple[ConversationRecord, datetime]],
              top: Sequence[tuple[ConversationRecord, datetime]],
              agents: Sequence[AgentRecord]) -> dict[str, Any]:
    """The figures a policy is judged on, over conversations paired with the end of their run
    (an unanswered one counts to it) and the top decile paired the same way."""
    frts = [frt_s(r, end) for r, end in answered]
    online = sum(a.online_s for a in agents)
    return {
        "frt_p50_s": round(percentile(frts, 0.5), 1),
        "frt_p90_s": round(percentile(frts, 0.9), 1),
        "sla_hit": _rate([r for r, _ in answered]),
        "top_decile_sla_hit": _rate([r for r, _ in top]),
        "utilisation": round(sum(a.busy_s for a in agents) / online, 4) if online else None,
    }


def summarise(policy: str, run: RunRecords) -> dict[str, Any]:
    convs = run.conversations
    if not convs:
        raise ValueError("no conversations in the run")
    top = top_decile(convs)
    top_frts = [frt_s(r, run.end) for r in top]
    return {
        "policy": policy,
        **_headline([(r, run.end) for r in convs], [(r, run.end) for r in top], run.agents),
        "conversations": len(convs),
        "unanswered": sum(r.first_reply_at is None for r in convs),
        "sla_conversations": sum(r.deadline is not None for r in convs),
        "top_decile_conversations": len(top),
        "frt_top_decile_p50_s": round(percentile(top_frts, 0.5), 1),
        "frt_top_decile_p90_s": round(percentile(top_frts, 0.9), 1),
        "agents": len(run.agents),
        "reassigned": sum(r.reassignments > 0 for r in convs),
        "reassignments": sum(r.reassignments for r in convs),
        "reassignment_reasons": dict(sorted(run.moves.items())),
        "lost_work_h": round(sum(a.lost_work_s for a in run.agents) / 3600, 2),
        "most_held": max((a.most_held for a in run.agents), default=0),
        "sim_hours": round((run.end - run.start).total_seconds() / 3600, 1),
        # Where the tail comes from: conversations and FRT p90 per band at arrival.
        "by_band": {band: {"conversations": len(group),
                           "frt_p90_s": round(percentile([frt_s(r, run.end) for r in group], 0.9), 1)}
                    for band, group in _by_band(convs).items()},
    }


def summarise_pooled(policy: str, runs: Sequence[tuple[int, RunRecords]]) -> dict[str, Any]:
    """Several runs of one policy (one per seed) as one line: FRT percentiles and SLA rates over
    every conversation of every run (each run's unanswered ones counted to its own end, its top
    decile taken within it), utilisation over all agents' time; ``seeds`` and each run's key
    figures under ``runs``."""
    if not runs:
        raise ValueError("no runs to pool")
    answered = [(r, run.end) for _, run in runs for r in run.conversations]
    tops = [(r, run.end) for _, run in runs for r in top_decile(run.conversations)]
    return {
        "policy": policy,
        **_headline(answered, tops, [a for _, run in runs for a in run.agents]),
        "conversations": len(answered),
        "top_decile_conversations": len(tops),
        "frt_top_decile_p90_s": round(percentile([frt_s(r, end) for r, end in tops], 0.9), 1),
        "agents": len(runs[0][1].agents),
        "seeds": [seed for seed, _ in runs],
        "runs": [{"seed": seed, **{k: v for k, v in summarise(policy, run).items()
                                   if k in ("frt_p90_s", "top_decile_sla_hit", "sla_hit")}}
                 for seed, run in runs],
    }


def _by_band(records: Sequence[ConversationRecord]) -> dict[str, list[ConversationRecord]]:
    groups: dict[str, list[ConversationRecord]] = {}
    for record in records:
        groups.setdefault(record.band, []).append(record)
    return dict(sorted(groups.items()))
