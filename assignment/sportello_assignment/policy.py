"""Routing policies: which waiting conversation goes first, which agent takes it, and which of our
rules apply. One description drives the SQL that decides, so the service, `make simulate` and the
decision benchmark run the same policy.

``ours`` is the product's: queue by priority band, then the SLA deadline, then waiting time; among
the agents who may take it (team, language, channel, topic, room on that channel), specialists in
the topic first, then the lowest weighted load, then whoever waited longest for work; follow-ups go
back to their owner; conversations of agents who left or never answer go back to the queue.
``round_robin`` and ``fewest_open`` are the baselines other tools offer (first come, first served;
the next agent in turn, or the one with fewest open conversations), kept selectable so the
simulation measures them with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BAND_RANK = {"urgent": 4, "high": 3, "normal": 2, "low": 1}
BAND_OF_RANK = {rank: band for band, rank in BAND_RANK.items()}
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
    reply_timeout_s: tuple[tuple[str, float], ...] = (
        ("urgent", 300), ("high", 900), ("normal", 1800), ("low", 3600))
    # An owner who answered anyone within this is working, not gone: no-reply does not move theirs.
    working_s: float = 600
    escalate_stages: frozenset[str] = frozenset({"at_risk", "critical", "breached"})
    bot_channels: frozenset[str] = frozenset()
    # Every channel conversations come from: what "any channel" means for an agent who lists none.
    channels: tuple[str, ...] = CHANNELS
    default_team: str | None = None

    def reply_timeout(self, band_rank_value: int) -> float | None:
        seconds = dict(self.reply_timeout_s).get(BAND_OF_RANK.get(band_rank_value, "normal"))
        return seconds if self.policy.reassign and seconds and seconds > 0 else None
