"""Routing policies: which waiting conversation goes first, which agent takes it, and which of our
rules apply. One description drives the SQL that decides, so the service, `make simulate` and the
decision benchmark run the same policy.

``ours`` is the product's: urgent, then high conversations strictly first (each by SLA deadline, then
waiting time); below them, normal and low together by a queue deadline (``Rules.queue_deadline``: the
SLA deadline, aged so that nobody waits much past ``longest_wait_s`` behind fresher work, brought
forward by ``priority_head_start_s`` a priority point), then band, then waiting time; among
the agents who may take it (team, language, channel, topic, room on that channel), specialists in
the topic first, then the lowest weighted load, then whoever waited longest for work; follow-ups go
back to their owner; conversations of agents who left or never answer go back to the queue.
``round_robin`` and ``fewest_open`` are the baselines other tools offer (first come, first served;
the next agent in turn, or the one with fewest open conversations), kept selectable so the
simulation measures them with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

BAND_RANK = {"urgent": 4, "high": 3, "normal": 2, "low": 1}
BAND_OF_RANK = {rank: band for band, rank in BAND_RANK.items()}
# Ours' queue classes: the bands from this one up (high, urgent) are served strictly by band, ahead
# of everything below; the bands below (normal, low) share one class, ordered by the aged queue
# deadline so that a low conversation is not overtaken forever by normal ones arriving after it.
STRICT_FROM_RANK = BAND_RANK["high"]
SHARED_CLASS = STRICT_FROM_RANK - 1


def queue_class(band_rank_value: int) -> int:
    """The queue class of a band rank (higher first): its own rank from high up, else one shared
    class. The SQL twin is ``greatest(band_rank, SHARED_CLASS)`` (index ``conversations_queue_class_due``)."""
    return max(band_rank_value, SHARED_CLASS)
# ingest's channels ("unknown": conversations routed before channels were recorded).
CHANNELS = ("x", "facebook", "instagram", "messenger", "whatsapp", "chat", "email", "api",
            "unknown")


@dataclass(frozen=True)
class Policy:
    name: str
    queue_order: Literal["priority", "fifo"]
    agent_order: Literal["weighted_load", "fewest_open", "rotation"]
    # Skills (language, channel, topic) and teams restrict who may take a conversation.
    skills: bool
    # A follow-up or returning customer goes back to their last owner, waiting for them a while.
    sticky: bool
    # Offline agents' and unanswered conversations return to the queue; SLA warnings escalate.
    reassign: bool
    # Once the owner has answered, the conversation waits on the customer without holding one of
    # the owner's slots; the customer's next message goes back to the owner if they have room, else
    # (after the sticky wait) to anyone. Baselines hold the slot until resolution.
    release_on_reply: bool = False


POLICIES = {
    "ours": Policy("ours", "priority", "weighted_load", skills=True, sticky=True, reassign=True,
                   release_on_reply=True),
    "round_robin": Policy("round_robin", "fifo", "rotation", skills=False, sticky=False,
                          reassign=False),
    "fewest_open": Policy("fewest_open", "fifo", "fewest_open", skills=False, sticky=False,
                          reassign=False),
}


def policy_named(name: str) -> Policy:
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown assignment policy {name!r}; one of {', '.join(POLICIES)}") from None


def band_rank(band: str | None) -> int:
    """Queue rank of a priority band; an unknown band ranks as normal."""
    return BAND_RANK.get(band or "normal", BAND_RANK["normal"])


@dataclass(frozen=True)
class Rules:
    """A policy with the installation's timings; what every routing decision is given."""

    policy: Policy
    sticky_wait_s: float = 300
    widen_after_s: float = 600
    offline_grace_s: float = 120
    auto_away_s: float = 900
    # Aging: a queued conversation's place is its SLA deadline, but never later than this after
    # the customer started waiting (0: the SLA deadline alone). See queue_deadline.
    longest_wait_s: float = 4 * 3600
    # Within a queue class, each priority point moves a conversation's place this much earlier
    # (0: none). See queue_deadline.
    priority_head_start_s: float = 30
    reply_timeout_s: tuple[tuple[str, float], ...] = (
        ("urgent", 300), ("high", 900), ("normal", 1800), ("low", 3600))
    # An owner who answered anyone within this is working, not gone: no-reply does not move theirs.
    working_s: float = 600
    escalate_stages: frozenset[str] = frozenset({"at_risk", "critical", "breached"})
    bot_channels: frozenset[str] = frozenset()
    # Every channel conversations come from: what "any channel" means for an agent who lists none.
    channels: tuple[str, ...] = CHANNELS
    default_team: str | None = None

    def queue_deadline(self, sla_deadline: datetime | None, since: datetime,
                       priority: float) -> datetime | None:
        """A conversation's place in ours' queue (``repository.queue_place`` is the SQL twin),
        soonest first within its queue class: its SLA deadline, brought forward to at most the
        longest wait after the customer started waiting, then brought forward by the priority
        head start. The deadline keeps urgent and high (minutes) at the front; the longest wait
        keeps a low conversation (a 24-hour target) from being overtaken forever by fresher
        normal ones; the head start lets the more pressing of two customers who have waited
        about as long go first (at the default 30 s a point, a complaint scoring 40 goes ahead
        of a question scoring 15 that came up to 12.5 minutes earlier). Without an SLA deadline there
        is none: such conversations come after those with one."""
        if sla_deadline is None:
            return None
        place = sla_deadline
        if self.longest_wait_s > 0:
            place = min(place, since + timedelta(seconds=self.longest_wait_s))
        return place - timedelta(seconds=self.priority_head_start_s * priority)

    def reply_timeout(self, band_rank_value: int) -> float | None:
        seconds = dict(self.reply_timeout_s).get(BAND_OF_RANK.get(band_rank_value, "normal"))
        return seconds if self.policy.reassign and seconds and seconds > 0 else None
