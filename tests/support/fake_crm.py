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
import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sportello_deploy.fakes.server import FakeServer


class FakeCrm(FakeServer):
    name = "fake-crm"

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.token = token
        self.contacts: dict[str, dict[str, Any]] = {}  # contact id -> contact
        self.interactions: dict[str, dict[str, Any]] = {}  # interaction id -> it
        self._by_key: dict[str, str] = {}  # idempotency key -> interaction id
        self._ids: Iterator[int] = itertools.count()

    # -- inspection -------------------------------------------------------------------------------

    def contact_by_ref(self, external_ref: str) -> dict[str, Any] | None:
        return next((c for c in self.contacts.values() if c["external_ref"] == external_ref), None)

    def interactions_of(self, external_ref: str) -> list[dict[str, Any]]:
        contact = self.contact_by_ref(external_ref)
        if contact is None:
            return []
        return [i for i in self.interactions.values() if i["contact_id"] == contact["id"]]

    def history_of(self, external_ref: str) -> list[dict[str, Any]]:
        """The contact's interactions in order, each with the ``key`` it was created under and its ``body``
        (the same inspection as the vendor fakes offer)."""
        key_of = {interaction_id: key for key, interaction_id in self._by_key.items()}
        return [{**i, "key": key_of.get(i["id"]), "body": i.get("text") or i.get("summary")}
                for i in self.interactions_of(external_ref)]

    def forget_contact(self, contact_id: str) -> None:
        """As if the contact were deleted in the CRM (interactions stay, like an archive)."""
        self.contacts.pop(contact_id, None)

    # -- HTTP -------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route("/contacts/{external_ref}", self._put_contact, methods=["PUT"]),
            Route("/contacts/{contact_id}/interactions", self._post_interaction, methods=["POST"]),
            Route("/_fake/state", self._state, methods=["GET"]),
            Route("/_fake/faults", self._add_fault, methods=["POST"]),
        ]

    async def _intercept(self, request: Request) -> tuple[Any, Response | None]:
        """Record the request; answer for it when unauthorised or a fault is queued."""
        authorization = request.headers.get("authorization")
        if self.token is not None and authorization != f"Bearer {self.token}":
            await self.intercept(request)
            return None, JSONResponse({"error": "unauthorized"}, status_code=401)
        payload, answer = await self.intercept(request)
        if answer is not None:
            return payload, answer
        if not isinstance(payload, dict):
            return payload, JSONResponse({"error": "a JSON object is required"}, status_code=400)
        return payload, None

    async def _put_contact(self, request: Request) -> Response:
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

    async def _post_interaction(self, request: Request) -> Response:
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
                             "requests": [{"method": r.method, "path": r.path, "headers": r.headers,
                                           "json": r.json} for r in self.requests]})

    async def _add_fault(self, request: Request) -> JSONResponse:
        spec = await request.json()
        self.fail_next(spec["method"], spec.get("status", 503), times=spec.get("times", 1),
                       delay=spec.get("delay", 0.0))
        return JSONResponse({"queued": len(self.faults)}, status_code=201)


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
