"""Backoff and the circuit breaker, as pure rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sportello_crm_sync.delivery.retry import CircuitBreaker, backoff_seconds

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_backoff_doubles_within_jitter_up_to_the_cap() -> None:
    rng = random.Random(7)
    for attempt, step in [(1, 5), (2, 10), (3, 20), (4, 40), (10, 60), (30, 60)]:
        delays = [backoff_seconds(attempt, 5, 60, rng=rng) for _ in range(200)]
        assert all(step / 2 <= d <= step for d in delays), attempt
        assert max(delays) - min(delays) > step / 4  # jittered, not one value


def test_retry_after_is_a_floor_never_a_ceiling() -> None:
    assert backoff_seconds(1, 5, 60, retry_after=120, rng=random.Random(1)) == 120
    assert backoff_seconds(4, 5, 60, retry_after=1, rng=random.Random(1)) >= 20


def breaker() -> CircuitBreaker:
    return CircuitBreaker(threshold=3, cooldown=10, cooldown_cap=40)


def test_the_breaker_opens_after_consecutive_failures_and_probes_once() -> None:
    b = breaker()
    for _ in range(2):
        b.failed(NOW)
    assert b.allow(NOW) and b.state == "closed"
    b.failed(NOW)
    assert b.state == "open" and not b.allow(NOW + timedelta(seconds=9))
    later = NOW + timedelta(seconds=10)
    assert b.allow(later) and b.state == "half_open"
    assert not b.allow(later)  # one probe at a time
    b.succeeded()
    assert b.state == "closed" and b.allow(later)


def test_a_failed_probe_reopens_for_twice_as_long_up_to_the_cap() -> None:
    b, at = breaker(), NOW
    for _ in range(3):
        b.failed(at)
    for expected in (20, 40, 40):
        at = b.reopen_at  # type: ignore[assignment]
        assert b.allow(at)
        b.failed(at)
        assert b.reopen_at == at + timedelta(seconds=expected)


def test_a_success_resets_the_failure_count() -> None:
    b = breaker()
    b.failed(NOW)
    b.failed(NOW)
    b.succeeded()
    b.failed(NOW)
    b.failed(NOW)
    assert b.state == "closed"


def test_an_unused_probe_is_given_back() -> None:
    b = breaker()
    for _ in range(3):
        b.failed(NOW)
    later = NOW + timedelta(seconds=10)
    assert b.allow(later)
    b.cancel_probe()
    assert b.allow(later)


def test_hold_pauses_every_call_for_as_long_as_asked_and_never_shortens_a_longer_pause() -> None:
    b = breaker()
    b.hold(NOW, 30)
    assert not b.allow(NOW + timedelta(seconds=29))
    b.hold(NOW, 5)
    assert not b.allow(NOW + timedelta(seconds=29))
    assert b.allow(NOW + timedelta(seconds=30))


def test_failures_of_calls_in_flight_when_it_opened_do_not_extend_the_cooldown() -> None:
    b = breaker()
    for _ in range(3):
        b.failed(NOW)
    opened_until = b.reopen_at
    for _ in range(10):  # other workers' calls, started before it opened, fail afterwards
        b.failed(NOW + timedelta(seconds=1))
    assert b.reopen_at == opened_until


def test_a_late_success_does_not_close_an_open_breaker() -> None:
    b = breaker()
    for _ in range(3):
        b.failed(NOW)
    b.succeeded()  # a call that started before it opened
    assert b.state == "open" and not b.allow(NOW + timedelta(seconds=5))
