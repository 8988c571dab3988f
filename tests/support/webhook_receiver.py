"""A webhook subscriber over real HTTP: verifies Standard Webhooks signatures, records what came.

``received`` holds every request in arrival order (duplicates included, as a real subscriber would
see them); ``answer_next(status, times, headers)`` makes it refuse the next deliveries; ``stop()``
then ``start(receiver.port)`` is an outage and a recovery on the same URL.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sportello.http.problems import Problem
from sportello.http.signatures import verify
from sportello_deploy.fakes.server import FakeServer


@dataclass(frozen=True)
class Received:
    webhook_id: str
    timestamp: int
    signatures: tuple[str, ...]
    body: dict[str, Any]
    valid: bool  # the signature matched one of the receiver's secrets
    status: int  # what the receiver answered


class WebhookReceiver(FakeServer):
    name = "webhook-receiver"

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__()
        self.secrets = list(secrets)
        self.received: list[Received] = []

    def routes(self) -> list[Route]:
        return [Route("/hooks", self._hook, methods=["POST"])]

    async def _hook(self, request: Request) -> Response:
        raw = await request.body()
        _, answer = await self.intercept(request)
        valid = True
        try:
            verify(self.secrets, request.headers, raw)
        except Problem:
            valid = False  # recorded, and still answered: the test decides what it means
        if answer is None:
            answer = JSONResponse({"ok": True})
        self.received.append(Received(
            webhook_id=request.headers.get("webhook-id", ""),
            timestamp=int(request.headers.get("webhook-timestamp", "0")),
            signatures=tuple(request.headers.get("webhook-signature", "").split()),
            body=json.loads(raw), valid=valid, status=answer.status_code))
        return answer

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hooks"

    def accepted(self) -> list[Received]:
        """Deliveries answered 2xx: what the subscriber processed (by webhook-id, first wins)."""
        seen: dict[str, Received] = {}
        for received in self.received:
            if 200 <= received.status < 300:
                seen.setdefault(received.webhook_id, received)
        return list(seen.values())


@contextlib.asynccontextmanager
async def running_receiver(secrets: Sequence[str] = ()) -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver(secrets)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()
