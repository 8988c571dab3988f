"""Token buckets per caller, with a clock the test moves: no sleeping, no timing."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from sportello.http.rate_limit import RATE_LIMITED, Limit, install_rate_limits, parse_limits
from tests.services.http.support import API_KEYS, app_with_auth, bearer, settings, token

LIMITS = "agent=0.5/3,supervisor=10/10,api_key=100/100,unauthenticated=0.25/2"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limited_app(clock: Clock, service: str) -> FastAPI:
    service_settings = settings(rate_limits=LIMITS)
    app = app_with_auth(service_settings)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    install_rate_limits(app, service_settings, service=service, clock=clock)
    return app


async def calls(app: FastAPI, n: int, headers: dict[str, str] | None = None,
                path: str = "/whoami") -> list[httpx.Response]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return [await client.get(path, headers=headers or {}) for _ in range(n)]


async def test_a_caller_gets_the_burst_then_429_with_retry_after_then_recovers() -> None:
    clock = Clock()
    app = limited_app(clock, "rl-burst")
    ann = bearer(token(sub="ann"))
    before = RATE_LIMITED.labels("rl-burst", "agent")._value.get()

    responses = await calls(app, 4, ann)
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["ratelimit-remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert all(r.headers["ratelimit-limit"] == "3" for r in responses)
    refused = responses[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/rate-limited") and refused.json()["status"] == 429
    assert refused.headers["retry-after"] == "2"  # one request refills in 1 / 0.5 = 2 s
    assert refused.headers["ratelimit-reset"] == "6"  # the whole bucket in 3 / 0.5 = 6 s
    assert RATE_LIMITED.labels("rl-burst", "agent")._value.get() == before + 1

    clock.now += 1.9
    assert [r.status_code for r in await calls(app, 1, ann)] == [429]
    clock.now += 0.1
    assert [r.status_code for r in await calls(app, 2, ann)] == [200, 429]
    clock.now += 600  # a long pause refills the bucket, never beyond its size
    assert [r.status_code for r in await calls(app, 4, ann)] == [200, 200, 200, 429]


async def test_each_caller_has_their_own_bucket_sized_by_role() -> None:
    app = limited_app(Clock(), "rl-callers")
    assert (await calls(app, 4, bearer(token(sub="ann"))))[-1].status_code == 429
    assert [r.status_code for r in await calls(app, 3, bearer(token(sub="bob")))] == [200] * 3
    supervisor = await calls(app, 10, bearer(token(sub="sue", roles=["supervisor"])), path="/supervised")
    assert {r.status_code for r in supervisor} == {200}
    keys = await calls(app, 50, bearer(API_KEYS["agent"]))
    assert {r.status_code for r in keys} == {200} and keys[-1].headers["ratelimit-limit"] == "100"


async def test_failed_credentials_are_throttled_per_client_ip() -> None:
    clock = Clock()
    app = limited_app(clock, "rl-guessing")
    guesses = await calls(app, 3, bearer("guessed-key-000000000000"))
    assert [r.status_code for r in guesses] == [401, 401, 429]
    assert guesses[-1].headers["retry-after"] == "4"
    # Forged tokens count as guesses too; a valid credential from the same address is not held back.
    assert (await calls(app, 1, bearer(token(secret="a-forged-secret-that-is-long-enough!"))))[0].status_code == 429
    assert (await calls(app, 1, bearer(token(sub="ann"))))[0].status_code == 200
    clock.now += 4
    assert (await calls(app, 1, bearer("guessed-key-000000000001")))[0].status_code == 401


async def test_requests_without_credentials_and_health_checks_are_not_limited() -> None:
    app = limited_app(Clock(), "rl-exempt")
    anonymous = await calls(app, 10)
    assert {r.status_code for r in anonymous} == {401}
    assert "ratelimit-limit" not in anonymous[0].headers
    health = await calls(app, 10, bearer(token(sub="ann")), path="/healthz")
    assert {r.status_code for r in health} == {200}
    assert (await calls(app, 1, bearer(token(sub="ann"))))[0].headers["ratelimit-remaining"] == "2"


async def test_limits_can_be_turned_off() -> None:
    service_settings = settings(rate_limits_enabled=False)
    app = app_with_auth(service_settings)
    assert install_rate_limits(app, service_settings, service="rl-off") is None
    assert {r.status_code for r in await calls(app, 120, bearer(token(sub="ann")))} == {200}


def test_limits_are_parsed_and_bad_ones_refused() -> None:
    assert parse_limits(" agent=20/100 , unauthenticated=0.5/10 ") == {
        "agent": Limit(rate=20, burst=100), "unauthenticated": Limit(rate=0.5, burst=10)}
    for bad in ("agent=20", "agent=0/10", "agent=5/0", "=1/1", "agent=x/1", "agent=inf/3"):
        with pytest.raises(ValueError, match="class=rate/burst"):
            parse_limits(bad)
