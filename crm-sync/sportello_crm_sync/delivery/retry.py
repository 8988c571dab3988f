"""When to try again: exponential backoff with jitter, and a circuit breaker per destination."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal


def backoff_seconds(attempt: int, base: float, cap: float, *,
                    retry_after: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 = the first).

    "Equal jitter": half the exponential step fixed, half random, so retries of many jobs that
    failed together spread out instead of hammering the destination in waves, yet never come back
    immediately. A server's ``Retry-After`` is a floor: we never return sooner than it asked.
    """
    step = min(cap, base * 2 ** min(max(0, attempt - 1), 64))
    delay = step / 2 + (rng or random).uniform(0, step / 2)
    return max(delay, retry_after or 0.0)


BreakerState = Literal["closed", "open", "half_open"]


@dataclass
class CircuitBreaker:
    """Stops calling a destination that keeps failing, then lets one probe through.

    closed → (``threshold`` failures in a row) → open for ``cooldown`` → half_open: the next call
    is a probe; its success closes the breaker, its failure opens it again for twice as long (up to
    ``cooldown_cap``). ``hold`` opens it for as long as a destination asked (429 Retry-After), since
    a rate limit applies to every call, not just the one that hit it. Per process: each replica
    learns the destination's health on its own, which costs at most ``threshold`` calls each.
    """

    threshold: int
    cooldown: float
    cooldown_cap: float
    state: BreakerState = "closed"
    failures: int = 0
    opened_for: float = 0.0
    reopen_at: datetime | None = None
    probing: bool = field(default=False)

    def allow(self, now: datetime) -> bool:
        """May a call start now? In half-open state only the first asker gets the probe."""
        if self.state == "open":
            if self.reopen_at is not None and now < self.reopen_at:
                return False
            self.state, self.probing = "half_open", False
        if self.state == "half_open":
            if self.probing:
                return False
            self.probing = True
        return True

    def cancel_probe(self) -> None:
        """The probe was granted but no call was made (nothing to send)."""
        self.probing = False

    def succeeded(self) -> None:
        if self.state == "open":
            return  # a call that started before the breaker opened proves nothing about now
        self.state, self.failures, self.opened_for, self.probing = "closed", 0, 0.0, False

    def failed(self, now: datetime) -> None:
        self.failures += 1
        if self.state == "open":
            return  # calls in flight when it opened: already counted in, no longer cooldown
        if self.state == "half_open":
            self.opened_for = min(self.cooldown_cap, self.opened_for * 2 or self.cooldown)
            self._open(now, self.opened_for)
        elif self.failures >= self.threshold:
            self.opened_for = self.cooldown
            self._open(now, self.opened_for)

    def hold(self, now: datetime, seconds: float) -> None:
        self.opened_for = self.opened_for or self.cooldown
        self._open(now, seconds)

    def _open(self, now: datetime, seconds: float) -> None:
        until = now + timedelta(seconds=seconds)
        if self.state != "open" or self.reopen_at is None or until > self.reopen_at:
            self.reopen_at = until
        self.state, self.probing = "open", False
