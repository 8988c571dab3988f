"""Numbers for the simulated team, derived from real data (every one can be overridden on the CLI).

- **Brand reply delays** (twcs threads): brand tweet minus the tweet it answers. The corpus README
  quotes median 724 s, p90 about 6.4 h; :func:`reply_delays` recomputes them as a check.
- **Agent activity** (``brand_agent_replies_kwartler/amzn_cs.csv``: 24 h of @AmazonHelp replies, each
  signed ``^XX`` by its agent). Reply times come from the tweet ids (X's ids embed the millisecond of
  posting; the ``created`` column is rounded to the minute for most rows). Consecutive tweets of one
  agent to one customer within two minutes are one reply split in parts (``1/2``, ``2/2``).
  An agent's replies are cut by the gap between them: up to 30 min is *working* (the gap is the time
  one reply took, including the private-message work it led to), 30 min to 3 h is a *break* (off the
  queue), longer separates *shifts*. From these: handling time (lognormal fitted to the median and p90
  of working gaps: robust to the long tail of mixed-in idle time), per-agent speed spread, breaks per
  shift-hour and their length, shift length, agents active per hour and replies per active agent-hour.
- ``oct_delta.csv`` has dates but no times: only agents signing per day, as a cross-check.

:func:`suggest_agents` turns the activity into a default pool size for a traffic: enough agents that
the team's replies per active agent-hour, times the agents on duty, meets the traffic's average reply
demand. Peaks above the average queue up, as they did for the real brands (p90 of 6.4 h).
"""

from __future__ import annotations

import csv
import math
import random
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

from sportello_deploy.simulate.traffic import Traffic

AMAZON_CSV = Path("brand_agent_replies_kwartler") / "amzn_cs.csv"
DELTA_CSV = Path("brand_agent_replies_kwartler") / "oct_delta.csv"

WORKING_GAP_S = 30 * 60.0  # a longer silence is not the time one reply took
SHIFT_GAP_S = 3 * 3600.0  # a longer one separates shifts
SPLIT_REPLY_S = 120.0  # parts of one reply (1/2, 2/2) to the same customer
_Z90 = 1.2815515655446004  # standard normal 90th percentile
_TWITTER_EPOCH_MS = 1288834974657
_AMAZON_SIGN = re.compile(r"\^\s*([A-Za-z]{2,3})\b")
_DELTA_SIGN = re.compile(r"\*\s*([A-Za-z]{2,3})\b")


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default); q in 0..1."""
    if not values:
        raise ValueError("percentile of nothing")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Lognormal:
    median_s: float
    sigma: float

    @classmethod
    def fit(cls, values: Sequence[float]) -> Lognormal:
        """Fitted to the median and the 90th percentile (robust where the tail is contaminated)."""
        positive = [v for v in values if v > 0]
        if len(positive) < 2:
            raise ValueError("a lognormal fit needs at least two positive values")
        median, p90 = percentile(positive, 0.5), percentile(positive, 0.9)
        return cls(median_s=median, sigma=max(0.0, math.log(p90 / median) / _Z90))

    @property
    def mean_s(self) -> float:
        return self.median_s * math.exp(self.sigma**2 / 2)

    @property
    def p90_s(self) -> float:
        return self.median_s * math.exp(self.sigma * _Z90)

    def sample(self, rng: random.Random) -> float:
        return self.median_s * math.exp(rng.gauss(0.0, self.sigma))


@dataclass(frozen=True)
class AgentReply:
    agent: str
    at: datetime
    customer: str


@dataclass(frozen=True)
class Activity:
    """An agent team's rhythm, from signed replies."""

    agents: int
    replies: int
    span_h: float
    agents_per_hour_mean: float
    agents_per_hour_max: int
    replies_per_active_agent_hour: float  # per agent who replied at least once in that hour
    replies_per_working_hour: float  # inside working stretches: the pace of an agent on the queue
    handling: Lognormal
    speed_sigma: float  # spread of agents' own median handling times (log scale)
    breaks_per_shift_hour: float
    break_length: Lognormal
    shift_h_median: float
    shift_h_p90: float


def snowflake_time(tweet_id: str) -> datetime:
    """When a tweet was posted, from its id (X's ids since late 2010 embed the millisecond)."""
    return datetime.fromtimestamp(((int(tweet_id) >> 22) + _TWITTER_EPOCH_MS) / 1000, UTC)


def amazon_replies(path: Path) -> list[AgentReply]:
    """Signed replies in time order, one per reply (parts of a split reply merged)."""
    signed: list[AgentReply] = []
    with path.open(newline="", encoding="cp1252") as handle:  # the export is Windows-1252, not UTF-8
        for row in csv.DictReader(handle):
            signs = _AMAZON_SIGN.findall(row["text"] or "")
            if not signs:
                continue
            try:
                at = snowflake_time(row["id"])
            except ValueError:
                at = datetime.fromisoformat(row["created"]).replace(tzinfo=UTC)
            signed.append(AgentReply(agent=signs[-1].upper(), at=at, customer=row["replyToSN"] or ""))
    return merge_split_replies(signed)


def merge_split_replies(replies: Iterable[AgentReply]) -> list[AgentReply]:
    merged: list[AgentReply] = []
    last: dict[str, AgentReply] = {}
    for reply in sorted(replies, key=lambda r: (r.at, r.agent)):
        previous = last.get(reply.agent)
        if (previous is not None and previous.customer == reply.customer
                and (reply.at - previous.at).total_seconds() <= SPLIT_REPLY_S):
            continue
        last[reply.agent] = reply
        merged.append(reply)
    return merged


def activity(replies: Sequence[AgentReply]) -> Activity:
    if len(replies) < 3:
        raise ValueError("too few signed replies to calibrate agents")
    by_agent: dict[str, list[datetime]] = defaultdict(list)
    for reply in replies:
        by_agent[reply.agent].append(reply.at)
    working: list[float] = []
    breaks: list[float] = []
    shifts: list[float] = []
    agent_medians: list[float] = []
    for times in by_agent.values():
        times.sort()
        own: list[float] = []
        shift_start = times[0]
        for before, after in pairwise(times):
            gap = (after - before).total_seconds()
            if gap <= WORKING_GAP_S:
                own.append(gap)
            elif gap <= SHIFT_GAP_S:
                breaks.append(gap)
            else:
                shifts.append((before - shift_start).total_seconds())
                shift_start = after
        shifts.append((times[-1] - shift_start).total_seconds())
        working.extend(own)
        if len(own) >= 10:
            agent_medians.append(statistics.median(own))
    hours: dict[datetime, set[str]] = defaultdict(set)
    for reply in replies:
        hours[reply.at.replace(minute=0, second=0, microsecond=0)].add(reply.agent)
    first, last = min(r.at for r in replies), max(r.at for r in replies)
    # Shifts with a single reply have no length: they say nothing about how long agents stay.
    lengths_h = [s / 3600 for s in shifts if s > 0] or [0.0]
    shift_hours = sum(lengths_h)
    handling = Lognormal.fit(working)
    return Activity(
        agents=len(by_agent), replies=len(replies), span_h=(last - first).total_seconds() / 3600,
        agents_per_hour_mean=statistics.mean(len(a) for a in hours.values()),
        agents_per_hour_max=max(len(a) for a in hours.values()),
        replies_per_active_agent_hour=len(replies) / sum(len(a) for a in hours.values()),
        replies_per_working_hour=3600 / statistics.mean(working) if working else 0.0,
        handling=handling,
        speed_sigma=statistics.stdev(math.log(m) for m in agent_medians) if len(agent_medians) > 1 else 0.0,
        breaks_per_shift_hour=len(breaks) / shift_hours if shift_hours else 0.0,
        break_length=Lognormal.fit(breaks) if len(breaks) >= 2 else Lognormal(15 * 60, 0.3),
        shift_h_median=percentile(lengths_h, 0.5), shift_h_p90=percentile(lengths_h, 0.9),
    )


def delta_agents_per_day(path: Path) -> float:
    """Median number of distinct agents signing (``*XX``) per day in the Delta sample."""
    per_day: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            signs = _DELTA_SIGN.findall(row["text"] or "")
            if signs:
                per_day[(row["year"], row["month"], row["date"])].add(signs[-1].upper())
    return statistics.median(len(a) for a in per_day.values()) if per_day else 0.0


@dataclass(frozen=True)
class Calibration:
    reply_delay_p50_s: float
    reply_delay_p90_s: float
    activity: Activity
    delta_agents_per_day: float | None

    def summary(self) -> dict[str, float | int | None]:
        a = self.activity
        return {
            "brand_reply_delay_p50_s": round(self.reply_delay_p50_s),
            "brand_reply_delay_p90_h": round(self.reply_delay_p90_s / 3600, 2),
            "amazon_agents": a.agents, "amazon_replies": a.replies, "amazon_span_h": round(a.span_h, 1),
            "agents_active_per_hour_mean": round(a.agents_per_hour_mean, 1),
            "agents_active_per_hour_max": a.agents_per_hour_max,
            "replies_per_active_agent_hour": round(a.replies_per_active_agent_hour, 2),
            "replies_per_working_hour": round(a.replies_per_working_hour, 2),
            "handling_median_s": round(a.handling.median_s), "handling_sigma": round(a.handling.sigma, 2),
            "handling_mean_s": round(a.handling.mean_s), "agent_speed_sigma": round(a.speed_sigma, 2),
            "breaks_per_shift_hour": round(a.breaks_per_shift_hour, 2),
            "break_median_min": round(a.break_length.median_s / 60, 1),
            "break_p90_min": round(a.break_length.p90_s / 60, 1),
            "shift_h_median": round(a.shift_h_median, 1), "shift_h_p90": round(a.shift_h_p90, 1),
            "delta_agents_per_day": self.delta_agents_per_day,
        }


def reply_delays(traffic: Traffic) -> tuple[float, float]:
    delays = [d for d in traffic.brand_reply_delays_s if d >= 0]
    return percentile(delays, 0.5), percentile(delays, 0.9)


def calibrate(data_dir: Path, traffic: Traffic) -> Calibration:
    amazon = data_dir / AMAZON_CSV
    if not amazon.is_file():
        raise FileNotFoundError(f"{amazon} not found: the agent calibration needs brand_agent_replies_kwartler/")
    p50, p90 = reply_delays(traffic)
    delta = data_dir / DELTA_CSV
    return Calibration(reply_delay_p50_s=p50, reply_delay_p90_s=p90, activity=activity(amazon_replies(amazon)),
                       delta_agents_per_day=delta_agents_per_day(delta) if delta.is_file() else None)


def reply_demand(traffic: Traffic) -> int:
    """Agent actions the traffic asks for: one per customer turn (a reply, or closing a "thanks")."""
    return sum(len(c.turns) for c in traffic.conversations)


def suggest_agents(traffic: Traffic, team: Activity, *, shift_h: float) -> int:
    """Pool size that staffs the traffic's average demand at the real team's pace, round the clock.

    Agents on duty per hour = demand per hour / replies per active agent-hour; the pool covers the day
    in ``24 / shift_h`` crews, so it is that many times larger."""
    arrivals = [c.arrival for c in traffic.conversations]
    span_h = max((arrivals[-1] - arrivals[0]).total_seconds() / 3600, 1.0)
    on_duty = reply_demand(traffic) / span_h / team.replies_per_active_agent_hour
    return max(1, math.ceil(on_duty * crews(shift_h)))


def crews(shift_h: float) -> int:
    return max(1, round(24 / shift_h))


# The pool size at which the fewest-open baseline's first response times come closest to the real
# brands' reply delays (median 724 s, p90 6.45 h) on the full head-5000 traffic, seed 1: found with
# ``python -m sportello_deploy.simulate --calibrate-pool 65,80,100,120,140`` (see docs/ASSIGNMENT.md).
CALIBRATED_AGENTS = 100


def delay_misfit(frt_p50_s: float, frt_p90_s: float, cal: Calibration) -> float:
    """How far a run's first-response times are from the real brands' reply delays: squared log
    ratios of the medians and of the p90s (a factor of two too slow or too fast counts the same)."""
    return (math.log(frt_p50_s / cal.reply_delay_p50_s) ** 2
            + math.log(frt_p90_s / cal.reply_delay_p90_s) ** 2)
