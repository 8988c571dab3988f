"""Forward the routes other services own to them, so front-ends see one API at the gateway.

:class:`ProxyRoute` is appended after every other route, so the gateway's own routes always win; it
matches only a method and path an upstream's OpenAPI document declares. Bodies stream both ways
(nothing is buffered), hop-by-hop headers are dropped, ``X-Forwarded-*`` and the correlation id are
set, and everything else (``Authorization``, ``Idempotency-Key``...) passes unchanged: each service
checks the caller's credentials itself. An upstream that cannot be reached is a 503 problem with
Retry-After, one that is too slow a 504 problem. Bodies and credentials are never logged.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import structlog
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from sportello.http.middleware import CORRELATION_HEADER
from sportello.http.problems import problem_response
from sportello.observability.context import current_correlation_id
from sportello_gateway.edge import metrics
from sportello_gateway.edge.upstreams import Upstreams

log = structlog.get_logger(__name__)

UPSTREAMS_STATE = "edge.upstreams"
# RFC 9110 §7.6.1, plus the ones a proxy must set itself (host, the forwarding headers).
_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "transfer-encoding", "upgrade", "host",
})
_FORWARDING = frozenset({"forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto"})
# Paths under this prefix are the API: one that no known route serves while an upstream's routes
# are still unknown may be that upstream's, so it is "unavailable, retry", not "not found".
_API_PREFIX = "/v1/"
# An answer announcing at most this many bytes is read whole before it is passed on; a larger one,
# or one of unknown length (an export, a stream), is streamed through.
_READ_AT_ONCE_BYTES = 64 * 1024


def upstreams_of(scope: Scope) -> Upstreams | None:
    contexts = getattr(scope["app"].state, "contexts", None)
    if not contexts or "gateway" not in contexts:
        return None  # the lifespan has not run (or is another app's)
    found: Upstreams | None = contexts["gateway"].state.get(UPSTREAMS_STATE)
    return found


class ProxyRoute(BaseRoute):
    """Matches the requests an upstream serves (and, while an upstream's routes are unknown, any
    other API path); never shown in the gateway's own OpenAPI document."""

    path = "/{upstream path}"  # what the HTTP metrics label a forwarded request with

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        upstreams = upstreams_of(scope)
        if upstreams is None or not upstreams.urls:
            return Match.NONE, {}
        owner = upstreams.table.owner(scope["method"], scope["path"])
        if owner is None and not (upstreams.unknown() and scope["path"].startswith(_API_PREFIX)):
            return Match.NONE, {}
        return Match.FULL, {"route": self, "sportello.upstream": owner}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        upstreams = upstreams_of(scope)
        assert upstreams is not None  # matches() said so
        owner: str | None = scope.get("sportello.upstream")
        if owner is None:
            response = _unavailable(request, upstreams, ", ".join(upstreams.unknown()),
                                    "The API is still starting: some routes are not known yet.")
        else:
            response = await forward(request, upstreams, owner)
        await response(scope, receive, send)


async def forward(request: Request, upstreams: Upstreams, upstream: str) -> Response:
    client = upstreams.client
    # The path as the caller encoded it (``%2F`` stays one segment), the query string untouched.
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    target = httpx.URL(upstreams.urls[upstream] + raw_path.decode("latin-1"),
                       query=request.scope.get("query_string", b""))
    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    outgoing = client.build_request(
        request.method, target, headers=_request_headers(request),
        content=request.stream() if has_body else None,
    )
    started = time.perf_counter()
    try:
        answer = await client.send(outgoing, stream=True)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        # Nothing was sent: the upstream is down or restarting, or the gateway is saturated.
        metrics.UPSTREAM_ERRORS.labels(upstream, "unavailable").inc()
        log.warning("gateway.proxy.unavailable", upstream=upstream, method=request.method,
                    path=request.url.path, error=type(exc).__name__)
        return _unavailable(request, upstreams, upstream,
                            f"The {upstream} service cannot be reached right now.")
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        # The connection broke before an answer: the request may or may not have been applied.
        metrics.UPSTREAM_ERRORS.labels(upstream, "unavailable").inc()
        log.warning("gateway.proxy.unavailable", upstream=upstream, method=request.method,
                    path=request.url.path, error=type(exc).__name__)
        return _unavailable(request, upstreams, upstream,
                            f"The {upstream} service closed the connection before answering. A POST "
                            "carrying an Idempotency-Key can be retried safely.")
    except httpx.TimeoutException as exc:
        metrics.UPSTREAM_ERRORS.labels(upstream, "timeout").inc()
        log.warning("gateway.proxy.timeout", upstream=upstream, method=request.method,
                    path=request.url.path, error=type(exc).__name__)
        return problem_response(request, status=504, title="Gateway timeout", slug="upstream-timeout",
                                detail=f"The {upstream} service did not answer in time. A POST "
                                       "carrying an Idempotency-Key can be retried safely.",
                                upstream=upstream)
    metrics.UPSTREAM_SECONDS.labels(upstream, request.method).observe(time.perf_counter() - started)
    metrics.UPSTREAM_REQUESTS.labels(upstream, request.method, answer.status_code).inc()
    if _small(answer):
        # Most answers are a little JSON: read at once, it skips the streaming machinery's cost.
        try:
            body = b"".join([chunk async for chunk in answer.aiter_raw()])
        except httpx.HTTPError as exc:
            metrics.UPSTREAM_ERRORS.labels(upstream, "unavailable").inc()
            log.warning("gateway.proxy.unavailable", upstream=upstream, method=request.method,
                        path=request.url.path, error=type(exc).__name__)
            return _unavailable(request, upstreams, upstream,
                                f"The {upstream} service broke off its answer.")
        finally:
            await answer.aclose()
        complete = Response(body, status_code=answer.status_code)
        complete.raw_headers = _response_headers(answer.headers)
        return complete
    response = StreamingResponse(_relay(answer, upstream), status_code=answer.status_code,
                                 background=BackgroundTask(answer.aclose))
    response.raw_headers = _response_headers(answer.headers)
    return response


async def _relay(answer: httpx.Response, upstream: str) -> AsyncIterator[bytes]:
    # Raw bytes: a compressed body stays compressed and its Content-Length stays true.
    try:
        async for chunk in answer.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        # The status line is already sent: all that is left is to cut the response short, so the
        # caller sees a broken response rather than a truncated one that looks whole.
        metrics.UPSTREAM_ERRORS.labels(upstream, "broken").inc()
        log.warning("gateway.proxy.broken_response", upstream=upstream, error=type(exc).__name__)
        raise


def _small(answer: httpx.Response) -> bool:
    length = answer.headers.get("content-length", "")
    return length.isdigit() and int(length) <= _READ_AT_ONCE_BYTES


def _unavailable(request: Request, upstreams: Upstreams, upstream: str, detail: str) -> Response:
    response = problem_response(request, status=503, title="Service unavailable",
                                slug="upstream-unavailable", detail=detail, upstream=upstream)
    response.headers["Retry-After"] = str(upstreams.retry_after_seconds)
    return response


def _named_in_connection(values: list[str]) -> set[str]:
    """Headers named in ``Connection`` are hop-by-hop too (RFC 9110 §7.6.1)."""
    return {token.strip().lower() for value in values for token in value.split(",")}


def _request_headers(request: Request) -> list[tuple[str, str]]:
    dropped = (_HOP_BY_HOP | _FORWARDING | {CORRELATION_HEADER.lower()}
               | _named_in_connection(request.headers.getlist("connection")))
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in dropped]
    client_host = request.client.host if request.client else None
    earlier = request.headers.get("x-forwarded-for")
    if client_host:
        headers.append(("x-forwarded-for", f"{earlier}, {client_host}" if earlier else client_host))
    headers.append(("x-forwarded-proto", request.headers.get("x-forwarded-proto", request.url.scheme)))
    headers.append(("x-forwarded-host", request.headers.get("x-forwarded-host",
                                                            request.headers.get("host", ""))))
    # The id this request is logged under here (the caller's, or a fresh one), so both services'
    # logs join up.
    headers.append((CORRELATION_HEADER, current_correlation_id()))
    return headers


def _response_headers(headers: httpx.Headers) -> list[tuple[bytes, bytes]]:
    # Raw pairs: repeated headers (Set-Cookie, Link) must all pass. The gateway sets its own
    # correlation id header on the way out.
    dropped = (_HOP_BY_HOP | {CORRELATION_HEADER.lower()}
               | _named_in_connection(headers.get_list("connection")))
    return [(k.lower(), v) for k, v in headers.raw if k.decode("latin-1").lower() not in dropped]
