"""The generic API channel's outbound side: replies POSTed to the integration's callback, signed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sportello.http import signatures
from sportello_deploy.fakes.server import FakeServer
from sportello_ingest.component import COMPONENT
from tests.ingest.support import settled
from tests.support.app import auth, running_app

SECRET = "api-callback-secret-for-tests"


class Integration(FakeServer):
    """An integration's callback: answers with its own id for each reply it receives."""

    name = "fake-integration"

    def routes(self) -> list[Route]:
        return [Route("/replies", self._reply, methods=["POST"])]

    async def _reply(self, request: Request) -> Response:
        payload, fault = await self.intercept(request)
        return fault or JSONResponse({"external_id": f"app-{payload['message_id']}"})


@pytest.fixture(scope="module")
async def integration() -> AsyncIterator[Integration]:
    async with Integration() as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
async def ingest(database_url: str, integration: Integration) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url, api_callback_url=f"{integration.url}/replies",
                           api_callback_secret=SecretStr(SECRET), send_poll_seconds=0.05) as running:
        yield running


async def push(client: httpx.AsyncClient, author: str) -> dict[str, str]:
    response = await client.post("/v1/channels/api/messages", headers=auth("integration"), json={
        "channel": "shop-app", "external_id": uuid.uuid4().hex, "author": {"id": author, "display_name": "Ann"},
        "text": "where is my order?", "sent_at": datetime.now(UTC).isoformat()})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_reply_reaches_the_callback_signed_and_addressed_to_the_customer(
    ingest: tuple[FastAPI, httpx.AsyncClient], integration: Integration,
) -> None:
    _, client = ingest
    author = uuid.uuid4().hex
    pushed = await push(client, author)
    reply = await client.post(f"/v1/conversations/{pushed['conversation_id']}/replies", headers=auth("agent"),
                              json={"text": "It ships today", "visibility": "private"})
    assert reply.status_code == 202, reply.text
    assert reply.json()["channel"] == "shop-app"  # the integration's channel, not a generic "api"

    sent = await settled(client, reply.json()["id"])
    assert (sent["delivery_status"], sent["external_id"]) == ("sent", f"app-{reply.json()['id']}")
    received = [r for r in integration.requests_to("POST", "/replies") if r.json["message_id"] == reply.json()["id"]]
    assert len(received) == 1
    assert received[0].json["recipient_id"] == author and received[0].json["channel"] == "shop-app"
    signatures.verify([SECRET], received[0].headers, received[0].body)  # raises if the signature is wrong


async def test_without_a_callback_replies_are_refused_up_front(database_url: str) -> None:
    async with running_app([COMPONENT], database_url) as (_, client):
        pushed = await push(client, uuid.uuid4().hex)
        reply = await client.post(f"/v1/conversations/{pushed['conversation_id']}/replies", headers=auth("agent"),
                                  json={"text": "hello"})
        assert reply.status_code == 400
