"""Real HTTP stand-ins for the systems Sportello talks to (social platforms, CRMs).

A :class:`FakeServer` is a Starlette app served by uvicorn inside the caller's event loop on a port the
OS picks, so adapters are exercised over real sockets. It records every request and can be told to
answer the next ones with a fault (a status, extra headers such as ``Retry-After``, a delay). Tests
subclass it with a platform's documented routes; the replay tool uses one as the X API.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any
    at: datetime


@dataclass
class Fault:
    method: str
    status: int | None  # None: answer normally, after the delay
    delay: float = 0.0
    remaining: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class FakeServer:
    """Subclasses implement ``routes()``; handlers call ``intercept`` first."""

    name = "fake"

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    # -- to implement ---------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        raise NotImplementedError

    # -- inspection and fault injection ---------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests_to(self, method: str, path_part: str = "") -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and path_part in r.path]

    def fail_next(self, method: str, status: int | None = 503, *, times: int = 1, delay: float = 0.0,
                  headers: dict[str, str] | None = None, body: Any = None) -> None:
        self.faults.append(Fault(method, status, delay, times, headers or {}, body))

    async def intercept(self, request: Request) -> tuple[Any, Response | None]:
        """Record the request; return (JSON body or None, a fault's answer or None)."""
        body = await request.body()
        payload: Any = None
        with contextlib.suppress(ValueError):
            payload = await request.json() if body else None
        self.requests.append(RecordedRequest(request.method, request.url.path, dict(request.query_params),
                                             dict(request.headers), body, payload,
                                             datetime.now(UTC)))
        for fault in self.faults:
            if fault.method == request.method and fault.remaining > 0:
                fault.remaining -= 1
                await asyncio.sleep(fault.delay)
                if fault.status is not None:
                    return payload, JSONResponse(fault.body or {"error": "injected"}, status_code=fault.status,
                                                 headers=fault.headers)
                break
        return payload, None

    @property
    def app(self) -> Starlette:
        return Starlette(routes=self.routes())

    # -- lifecycle (in the caller's event loop) -------------------------------------------------

    async def start(self, port: int = 0) -> None:
        """Serve on ``port``; 0 (the default) lets the OS pick a free one. A stopped server can be
        started again on its old port (``start(server.port)``): an outage and a recovery."""
        # Bind first: with port 0 the OS picks a free port and nobody can take it before we serve.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = _InTaskServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name=self.name)
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises the startup error
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None

    async def __aenter__(self) -> FakeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class _InTaskServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Runs inside the caller's process: leave its signal handlers (Ctrl-C) alone.
        yield
