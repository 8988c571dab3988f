"""Rate limits per caller: token buckets, 429 problem+json with ``Retry-After``.

Each caller has a bucket holding up to ``burst`` requests, refilled at ``rate`` per second. Callers are
told apart by :attr:`Principal.identity` (a JWT's subject, an API key); limits are configured per class
in ``SPORTELLO_RATE_LIMITS`` ("class=rate/burst,..."): the roles for JWT callers, ``api_key`` for every
API key (integrations push traffic in bulk, so theirs is generous), and ``unauthenticated`` for
requests presenting a credential that does not verify, per client IP — guessing keys or forging
tokens is throttled long before it gets anywhere. Requests with no credential at all are not limited
here: they are either public (signed channel webhooks, which platforms retry and must not lose) or
answered 401 at once without work.

Every limited response carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``
(seconds until the bucket is full again, IETF draft "RateLimit header fields for HTTP"); a refusal is a
429 problem with ``Retry-After`` in whole seconds. Health, readiness, metrics and the docs are exempt.

The buckets live in the process: with N API replicas a caller gets up to N times the limit. That is the
documented trade-off — a shared store (PostgreSQL, Redis) would add a round trip to every request —
and the limits are sized per replica accordingly. Behind a proxy, run uvicorn with
``--proxy-headers --forwarded-allow-ips`` so the client IP is the caller's, not the proxy's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from fastapi import FastAPI
from prometheus_client import Counter
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sportello.http.auth import authenticate_request
from sportello.http.problems import Problem, Unauthorized, problem_response
from sportello.settings import ServiceSettings

log = structlog.get_logger(__name__)

RATE_LIMITED = Counter("sportello_http_rate_limited_total", "Requests refused with 429 by the rate limiter",
                       ["service", "role"])

UNAUTHENTICATED = "unauthenticated"
API_KEY = "api_key"
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/openapi.json"})
_MAX_BUCKETS = 100_000  # beyond this many callers, idle (full) buckets are forgotten


@dataclass(frozen=True)
class Limit:
    rate: float  # requests per second, refilled continuously
    burst: int  # the bucket's size: requests allowed at once after a quiet period


def parse_limits(spec: str) -> dict[str, Limit]:
    limits: dict[str, Limit] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, numbers = item.partition("=")
        rate, _, burst = numbers.partition("/")
        try:
            limit = Limit(rate=float(rate), burst=int(burst))
        except ValueError:
            limit = Limit(rate=0, burst=0)
        if not name.strip() or not limit.rate > 0 or limit.burst < 1 or math.isinf(limit.rate):
            raise ValueError("SPORTELLO_RATE_LIMITS must be 'class=rate/burst' items, e.g. 'agent=20/100' "
                             "(rate > 0 per second, burst >= 1)")
        limits[name.strip()] = limit
    return limits


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: Limit
    remaining: int
    reset_seconds: int  # until the bucket is full again
    retry_after_seconds: int  # until the next request would be allowed (0 when allowed)

    def headers(self) -> dict[str, str]:
        headers = {"RateLimit-Limit": str(self.limit.burst), "RateLimit-Remaining": str(self.remaining),
                   "RateLimit-Reset": str(self.reset_seconds)}
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_seconds)
        return headers


class RateLimiter:
    """Token buckets by caller key. ``clock`` is injectable so tests move time instead of sleeping."""

    def __init__(self, limits: dict[str, Limit], clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, as of)

    def take(self, key: str, limit: Limit) -> Decision:
        now = self.clock()
        tokens, as_of = self._buckets.get(key, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + max(0.0, now - as_of) * limit.rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > _MAX_BUCKETS:
            self._forget_idle(now)
        return Decision(
            allowed=allowed, limit=limit, remaining=int(tokens),
            reset_seconds=math.ceil((limit.burst - tokens) / limit.rate),
            retry_after_seconds=0 if allowed else max(1, math.ceil((1.0 - tokens) / limit.rate)),
        )

    def _forget_idle(self, now: float) -> None:
        # A bucket that has refilled is the same as no bucket; if that is not enough, the oldest go.
        for key, (tokens, as_of) in list(self._buckets.items()):
            if now - as_of > 3600 or (tokens >= 1.0 and now - as_of > 60):
                del self._buckets[key]
        if len(self._buckets) > _MAX_BUCKETS:
            oldest = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            for key in oldest[: len(oldest) // 2]:
                del self._buckets[key]


def install_rate_limits(app: FastAPI, settings: ServiceSettings, *, service: str,
                        clock: Callable[[], float] = time.monotonic) -> RateLimiter | None:
    """Install the limiter (install it before the observability middleware, so refusals are counted
    and carry a correlation id). Returns it, or None when limits are turned off."""
    if not settings.rate_limits_enabled:
        return None
    limiter = RateLimiter(parse_limits(settings.rate_limits), clock)
    app.add_middleware(RateLimitMiddleware, limiter=limiter, service=service)
    app.state.rate_limiter = limiter
    return limiter


class RateLimitMiddleware:
    """Pure ASGI (cheap on the hot path): decides before the app runs, adds the headers to its answer."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, service: str) -> None:
        self.app = app
        self.limiter = limiter
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        classified = self._classify(request)
        if classified is None:
            await self.app(scope, receive, send)
            return
        key, limit_class = classified
        limit = self.limiter.limits.get(limit_class)
        if limit is None:
            await self.app(scope, receive, send)
            return
        decision = self.limiter.take(key, limit)
        if not decision.allowed:
            RATE_LIMITED.labels(self.service, limit_class).inc()
            log.warning("http.rate_limited", limit_class=limit_class, caller=key,
                        retry_after_seconds=decision.retry_after_seconds)
            response = problem_response(
                request, status=429, title="Too many requests", slug="rate-limited",
                detail=f"Rate limit of {limit.burst} requests, refilled at {limit.rate:g}/s, exceeded; "
                       f"retry in {decision.retry_after_seconds} s.")
            response.headers.update(decision.headers())
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in decision.headers().items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _classify(self, request: Request) -> tuple[str, str] | None:
        """(bucket key, limit class), or None when this request is not limited here."""
        if "authorization" not in request.headers:
            return None
        try:
            principal = authenticate_request(request)
        except Unauthorized:
            client = request.client.host if request.client else "unknown"
            return f"ip:{client}", UNAUTHENTICATED
        except Problem:
            return None  # verified but entitled to nothing (403 follows); no bucket to charge
        if principal.kind == API_KEY and API_KEY in self.limiter.limits:
            return principal.identity, API_KEY
        return principal.identity, principal.role
