"""An agent's sign-off on a reply: added in the channel's custom, stored and sent as the customer reads
it, and counted against the channel's limits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from sportello_ingest.component import COMPONENT
from sportello_ingest.replies import signed
from tests.ingest.channels.test_api import SECRET, Integration, push
from tests.ingest.support import settled
from tests.support.app import auth, running_app


@pytest.mark.parametrize(("channel", "signature", "expected"), [
    ("x", "GR", "On it now ^GR"),              # the care teams' convention on X
    ("x", "^GR", "On it now ^GR"),             # already written with the caret
    ("email", "Giulia Rossi, Acme care", "On it now\n\nGiulia Rossi, Acme care"),
    ("whatsapp", "Giulia", "On it now\n— Giulia"),
])
def test_the_sign_off_follows_the_channel(channel: str, signature: str, expected: str) -> None:
    assert signed("On it now", signature, channel) == expected


def test_no_signature_leaves_the_text_alone() -> None:
    assert signed("On it now", None, "x") == "On it now"


@pytest.fixture(scope="module")
async def integration() -> AsyncIterator[Integration]:
    async with Integration() as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
async def ingest(database_url: str, integration: Integration) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url, api_callback_url=f"{integration.url}/replies",
                           api_callback_secret=SecretStr(SECRET), send_poll_seconds=0.05) as running:
        yield running


async def test_a_signed_reply_is_stored_and_sent_with_its_sign_off(
    ingest: tuple[FastAPI, httpx.AsyncClient], integration: Integration,
) -> None:
    _, client = ingest
    conversation = (await push(client, uuid.uuid4().hex))["conversation_id"]

    reply = await client.post(f"/v1/conversations/{conversation}/replies", headers=auth("agent"),
                              json={"text": "It ships today", "signature": "Giulia"})

    assert reply.status_code == 202, reply.text
    assert reply.json()["text"] == "It ships today\n— Giulia"
    await settled(client, reply.json()["id"])
    sent = [r.json for r in integration.requests_to("POST", "/replies")
            if r.json["message_id"] == reply.json()["id"]]
    assert [body["text"] for body in sent] == ["It ships today\n— Giulia"]


async def test_a_signature_must_be_short_and_storable(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    conversation = (await push(client, uuid.uuid4().hex))["conversation_id"]
    url = f"/v1/conversations/{conversation}/replies"

    for bad in ("x" * 65, "G\x00R", "   "):
        answer = await client.post(url, headers=auth("agent"), json={"text": "hi", "signature": bad})
        assert answer.status_code == 422, bad
        assert answer.headers["content-type"] == "application/problem+json"
