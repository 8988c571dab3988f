"""A conversation's sentiment over time: first, last, most negative, and each change of label."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from sportello.contracts import SentimentPoint, SentimentTrajectory, SentimentTransition

KEPT_TRANSITIONS = 50


def trajectory_of(points: Sequence[SentimentPoint]) -> SentimentTrajectory | None:
    """``points`` in sent order (inbound messages only: the customer's mood, not the agent's)."""
    if not points:
        return None
    transitions = [
        SentimentTransition(message_id=after.message_id, at=after.at, from_label=before.label,
                            to_label=after.label)
        for before, after in pairwise(points) if before.label != after.label
    ]
    return SentimentTrajectory(
        first=points[0], last=points[-1], minimum=min(points, key=lambda p: p.score),
        transitions=tuple(transitions[-KEPT_TRANSITIONS:]), transition_count=len(transitions),
        messages=len(points),
    )
