"""How much the customer's voice carries: audience, verification, the press list, CRM tier, and
their history with the brand — each normalised to [0, 1], combined and capped at 1."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    followers: int | None = None
    verified: bool = False
    on_press_list: bool = False
    tier: str | None = None
    vip: bool = False
    earlier_conversations: int = 0


def audience(followers: int | None) -> float:
    """log scale: 10 followers ~ 0.17, 10k ~ 0.67, 1M and more = 1."""
    if not followers or followers <= 0:
        return 0.0
    return min(1.0, math.log10(1 + followers) / 6)


def influence_of(facts: CustomerFacts, tier_values: dict[str, float]) -> tuple[float, str]:
    parts: list[tuple[float, str]] = []
    if facts.on_press_list:
        parts.append((1.0, "on the press list"))
    if facts.vip:
        parts.append((1.0, "VIP in the CRM"))
    tier_value = tier_values.get((facts.tier or "").lower(), 0.0)
    if tier_value:
        parts.append((tier_value, f"CRM tier {facts.tier}"))
    reach = audience(facts.followers)
    if facts.verified:
        reach = min(1.0, reach + 0.2)  # a verified account is read and quoted more
    if reach:
        label = f"{facts.followers:,} followers" if facts.followers else "no follower count"
        parts.append((reach, label + (", verified" if facts.verified else "")))
    # The strongest reason sets the level; a long history with the brand adds to it, because a
    # returning customer has more to lose (and so does the brand).
    value, reason = max(parts, default=(0.0, "no audience data"))
    if facts.earlier_conversations:
        loyalty = min(0.2, 0.05 * facts.earlier_conversations)
        value = min(1.0, value + loyalty)
        reason += f"; {facts.earlier_conversations} earlier conversation" + (
            "s" if facts.earlier_conversations > 1 else "")
    return round(value, 4), reason
