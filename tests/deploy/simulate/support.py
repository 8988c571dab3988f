"""Hand-built traffic and teams for the simulation's tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sportello_deploy.simulate.calibration import Lognormal
from sportello_deploy.simulate.pool import PoolConfig
from sportello_deploy.simulate.traffic import Conversation, Message, Traffic, Turn

T0 = datetime(2017, 10, 31, 21, 0, tzinfo=UTC)


def conversation(key: str, at_s: float, turns: Sequence[Sequence[float]], *, last_answered: bool = True,
                 customer: str | None = None, text: str = "my order never arrived") -> Conversation:
    """``turns``: per customer turn, the delays of its messages (first turn: from the first message;
    later turns: from the reply before them)."""
    arrival = T0 + timedelta(seconds=at_s)
    built = tuple(
        Turn(tuple(Message(text, arrival, d) for d in delays),
             answered=last_answered or n < len(turns) - 1, follow_up=n > 0)
        for n, delays in enumerate(turns))
    return Conversation(key=key, brand="brand", customer=customer or f"c-{key}", arrival=arrival,
                        real_arrival=arrival, turns=built, brand_replies=())


def traffic_of(*conversations: Conversation) -> Traffic:
    ordered = tuple(sorted(conversations, key=lambda c: c.arrival))
    return Traffic(conversations=ordered, threads=len(ordered), max_gap_s=300, max_customer_delay_s=43200,
                   brand_reply_delays_s=())


def steady_team(agents: int, **overrides: Any) -> PoolConfig:
    """A team without breaks or early leavers, fixed handling times: easy to reason about."""
    settings: dict[str, Any] = dict(
        agents=agents, handling=Lognormal(300, 0.0), speed_sigma=0.0, shift_h=8.0, stagger_min=0.0,
        late_login_max_min=0.0, breaks_per_shift_hour=0.0, silent_break_share=0.0, early_logoff_share=0.0,
        wrap_up=Lognormal(60, 0.0))
    settings.update(overrides)
    return PoolConfig(**settings)
