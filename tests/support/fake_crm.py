"""A fake CRM speaking the generic REST protocol (see ``sportello_crm_sync.adapters.generic_rest``).

It is a real HTTP server (Starlette on uvicorn), so the adapter is tested over real sockets. It
keeps contacts and interactions in memory, honours ``Idempotency-Key`` (a repeated key answers the
original interaction), checks the bearer token when given one, records every request, and can be
told to fail or stall the next requests.

In a test::

    async with running_fake_crm(token="t") as crm:
        ...  # crm.url, crm.requests, crm.interactions_of(customer_id), crm.fail_next("POST", 503)

As a process (end-to-end tests): ``python -m tests.support.fake_crm --port 8900 [--token T]``;
``GET /_fake/state`` returns everything recorded, ``POST /_fake/faults`` with
``{"method": "POST", "status": 503, "times": 1, "delay": 0}`` queues a fault.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any


@dataclass
class Fault:
    method: str
    status: int | None  # None: answer normally, after the delay
    delay: float = 0.0
    remaining: int = 1


@dataclass
class FakeCrm:
    token: str | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)  # contact id -> contact
    interactions: dict[str, dict[str, Any]] = field(default_factory=dict)  # interaction id -> it
    faults: list[Fault] = field(default_factory=list)
    _by_key: dict[str, str] = field(default_factory=dict)  # idempotency key -> interaction id
    _ids: Iterator[int] = field(default_factory=itertools.count)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    port: int = 0

    # -- inspection -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def contact_by_ref(self, external_ref: str) -> dict[str, Any] | None:
        return next((c for c in self.contacts.values() if c["external_ref"] == external_ref), None)

    def interactions_of(self, external_ref: str) -> list[dict[str, Any]]:
        contact = self.contact_by_ref(external_ref)
        if contact is None:
            return []
        return [i for i in self.interactions.values() if i["contact_id"] == contact["id"]]

    def requests_to(self, method: str, path_part: str = "") -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and path_part in r.path]

    def fail_next(self, method: str, status: int | None = 503, *, times: int = 1,
                  delay: float = 0.0) -> None:
        self.faults.append(Fault(method, status, delay, times))

    def forget_contact(self, contact_id: str) -> None:
        """As if the contact were deleted in the CRM (interactions stay, like an archive)."""
        self.contacts.pop(contact_id, None)

    # -- HTTP -------------------------------------------------------------------------------------

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/contacts/{external_ref}", self._put_contact, methods=["PUT"]),
            Route("/contacts/{contact_id}/interactions", self._post_interaction, methods=["POST"]),
            Route("/_fake/state", self._state, methods=["GET"]),
            Route("/_fake/faults", self._add_fault, methods=["POST"]),
        ])

    async def _intercept(self, request: Request) -> tuple[Any, JSONResponse | None]:
        """Record the request; answer for it when unauthorised or a fault is queued."""
        body = await request.body()
        payload: Any = None
        with contextlib.suppress(ValueError):
            payload = await request.json() if body else None
        self.requests.append(RecordedRequest(request.method, request.url.path,
                                             dict(request.headers), payload))
        authorization = request.headers.get("authorization")
        if self.token is not None and authorization != f"Bearer {self.token}":
            return payload, JSONResponse({"error": "unauthorized"}, status_code=401)
        for fault in self.faults:
            if fault.method == request.method and fault.remaining > 0:
                fault.remaining -= 1
                await asyncio.sleep(fault.delay)
                if fault.status is not None:
                    return payload, JSONResponse({"error": "injected"}, status_code=fault.status)
                break
        if not isinstance(payload, dict):
            return payload, JSONResponse({"error": "a JSON object is required"}, status_code=400)
        return payload, None

    async def _put_contact(self, request: Request) -> JSONResponse:
        payload, answer = await self._intercept(request)
        if answer is not None:
            return answer
        external_ref = request.path_params["external_ref"]
        if payload.get("external_ref") != external_ref:
            return JSONResponse({"error": "external_ref mismatch"}, status_code=400)
        existing = self.contact_by_ref(external_ref)
        contact_id = existing["id"] if existing else f"ct_{next(self._ids)}"
        self.contacts[contact_id] = {**payload, "id": contact_id}
        return JSONResponse({"id": contact_id}, status_code=200 if existing else 201)

    async def _post_interaction(self, request: Request) -> JSONResponse:
        payload, answer = await self._intercept(request)
        if answer is not None:
            return answer
        key = request.headers.get("idempotency-key")
        if not key:
            return JSONResponse({"error": "Idempotency-Key is required"}, status_code=400)
        if key in self._by_key:
            return JSONResponse({"id": self._by_key[key]}, status_code=201)
        contact_id = request.path_params["contact_id"]
        if contact_id not in self.contacts:
            return JSONResponse({"error": "no such contact"}, status_code=404)
        interaction_id = f"in_{next(self._ids)}"
        self.interactions[interaction_id] = {**payload, "id": interaction_id,
                                             "contact_id": contact_id}
        self._by_key[key] = interaction_id
        return JSONResponse({"id": interaction_id}, status_code=201)

    async def _state(self, request: Request) -> JSONResponse:
        return JSONResponse({"contacts": self.contacts, "interactions": self.interactions,
                             "requests": [asdict(r) for r in self.requests]})

    async def _add_fault(self, request: Request) -> JSONResponse:
        spec = await request.json()
        self.fail_next(spec["method"], spec.get("status", 503), times=spec.get("times", 1),
                       delay=spec.get("delay", 0.0))
        return JSONResponse({"queued": len(self.faults)}, status_code=201)

    # -- lifecycle (in the test's event loop) -----------------------------------------------------

    async def start(self) -> None:
        # Bind first (port 0): the OS picks a free port and nobody can take it before we serve.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = _InTaskServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="fake-crm")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises the startup error
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task


class _InTaskServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Runs inside the test process: leave its signal handlers (Ctrl-C) alone.
        yield


@contextlib.asynccontextmanager
async def running_fake_crm(token: str | None = None) -> AsyncIterator[FakeCrm]:
    crm = FakeCrm(token=token)
    await crm.start()
    try:
        yield crm
    finally:
        await crm.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fake-crm", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", default=None, help="require 'Authorization: Bearer TOKEN'")
    args = parser.parse_args(argv)
    uvicorn.run(FakeCrm(token=args.token).app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
