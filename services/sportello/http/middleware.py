"""Correlation id and HTTP metrics for every request."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI, Request, Response

from sportello.observability import metrics
from sportello.observability.context import bind_correlation_id, new_correlation_id

CORRELATION_HEADER = "X-Correlation-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_UNOBSERVED = frozenset({"/healthz", "/readyz", "/metrics"})

log = structlog.get_logger(__name__)


def install_observability(app: FastAPI, service: str) -> None:
    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(service=service)
        incoming = request.headers.get(CORRELATION_HEADER, "")
        # A caller's id is kept only if it is harmless: it ends up in logs and headers.
        correlation_id = incoming if _VALID_ID.match(incoming) else new_correlation_id()
        bind_correlation_id(correlation_id)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:
            # An unhandled error is answered 500 by the server error middleware outside this one:
            # count it here, or the error-rate panels and alerts would never see a crash.
            _observe(service, request, 500, started)
            raise
        response.headers[CORRELATION_HEADER] = correlation_id
        _observe(service, request, response.status_code, started)
        return response


def _observe(service: str, request: Request, status: int, started: float) -> None:
    if request.url.path in _UNOBSERVED:
        return
    route = getattr(request.scope.get("route"), "path", "unmatched")
    elapsed = time.perf_counter() - started
    metrics.HTTP_REQUESTS.labels(service, request.method, route, status).inc()
    metrics.HTTP_SECONDS.labels(service, request.method, route).observe(elapsed)
    log.info("http.request", method=request.method, route=route, status=status,
             duration_ms=round(elapsed * 1000, 2))
