"""End to end over HTTP: ingest -> priority -> assignment -> crm-sync -> gateway, each a separate
process on real Kafka and PostgreSQL; then crashes (SIGKILL) mid-stream lose and duplicate nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.support.app import auth

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


def _message(customer: str, n: int, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "channel": "twitter",
        "external_id": f"{customer}-{n}",
        "author": {"id": customer, "display_name": f"Customer {customer[:6]}", **extra},
        "text": text,
        "sent_at": (datetime.now(UTC) - timedelta(seconds=60 - n)).isoformat(),
    }


async def _conversation(client: httpx.AsyncClient, stack: Stack, conversation_id: str,
                        *, expect_messages: int, timeout: float = 60) -> dict[str, Any]:
    """Poll the gateway until the conversation shows every message scored, and an assignee."""
    deadline = asyncio.get_running_loop().time() + timeout
    body: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        response = await client.get(f"{stack.url('gateway')}/v1/conversations/{conversation_id}",
                                    headers=auth("agent"))
        if response.status_code == 200:
            body = response.json()
            inbound = [m for m in body["messages"] if m["direction"] == "inbound"]
            if (len(body["messages"]) >= expect_messages
                    and all(m["score"] is not None for m in inbound)
                    and body["assignment"]["state"] == "assigned"):
                return body
        await asyncio.sleep(0.25)
    raise AssertionError(f"conversation {conversation_id} incomplete after {timeout}s: {body}")


async def test_posted_messages_come_back_scored_explained_and_assigned(stack: Stack) -> None:
    customer = uuid.uuid4().hex
    async with httpx.AsyncClient(timeout=10) as client:
        first = await client.post(
            f"{stack.url('ingest')}/v1/channels/api/messages", headers=auth("integration"),
            json=_message(customer, 1, "My internet is down since yesterday, still waiting!!",
                          followers=250_000),
        )
        assert first.status_code == 201, first.text
        second = await client.post(
            f"{stack.url('ingest')}/v1/channels/api/messages", headers=auth("integration"),
            json=_message(customer, 2, "Any news? This is unacceptable"),
        )
        assert second.status_code == 201
        conversation_id = first.json()["conversation_id"]
        assert second.json()["conversation_id"] == conversation_id  # threaded together

        body = await _conversation(client, stack, conversation_id, expect_messages=2)
        assert [m["external_id"] for m in body["messages"]] == [f"{customer}-1", f"{customer}-2"]
        score = body["messages"][0]["score"]
        assert score["sentiment"]["label"] == "negative"
        factors = {f["factor"]: f for f in score["breakdown"]}
        assert factors["influence"]["contribution"] > 0 and "250,000" in factors["influence"]["reason"]
        assert factors["urgency"]["contribution"] > 0
        assert score["value"] == pytest.approx(sum(f["contribution"] for f in score["breakdown"]))
        assert body["priority"] >= score["value"]
        assert body["assignment"]["agent"]["name"] in {"Giulia", "Marco"}

        listing = await client.get(f"{stack.url('gateway')}/v1/conversations",
                                   params={"assignee": body["assignment"]["agent"]["id"]},
                                   headers=auth("agent"))
        assert conversation_id in {item["id"] for item in listing.json()["items"]}


async def test_malformed_post_gets_a_problem_document(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{stack.url('ingest')}/v1/channels/api/messages", headers=auth("integration"),
            json={"channel": "twitter", "external_id": "x", "text": "", "sent_at": "yesterday"},
        )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    locations = {tuple(e["location"]) for e in problem["errors"]}
    assert ("body", "author") in locations and ("body", "sent_at") in locations


async def test_sigkill_mid_stream_loses_nothing_and_shows_nothing_twice(stack: Stack) -> None:
    customers = [uuid.uuid4().hex for _ in range(30)]
    per_customer = 4
    accepted: dict[str, str] = {}  # external_id -> conversation_id

    async def post_all(client: httpx.AsyncClient) -> None:
        for n in range(1, per_customer + 1):
            for customer in customers:
                payload = _message(customer, n, f"message {n}: my bill is wrong, please help")
                for _ in range(50):  # ingest itself is never killed, but keep the client honest
                    response = await client.post(
                        f"{stack.url('ingest')}/v1/channels/api/messages",
                        headers=auth("integration"), json=payload)
                    if response.status_code in (200, 201):
                        accepted[payload["external_id"]] = response.json()["conversation_id"]
                        break
                    await asyncio.sleep(0.1)

    async def crash_workers() -> None:
        while len(accepted) < 30:
            await asyncio.sleep(0.05)
        stack.services["priority"].kill()  # SIGKILL: mid-batch, no commit, no cleanup
        await asyncio.sleep(0.5)
        while len(accepted) < 70:
            await asyncio.sleep(0.05)
        stack.services["gateway"].kill()
        await asyncio.to_thread(stack.restart, "priority")
        await asyncio.to_thread(stack.restart, "gateway")

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(post_all(client), crash_workers())
        assert len(accepted) == len(customers) * per_customer
        for customer in customers:
            conversation_id = accepted[f"{customer}-1"]
            body = await _conversation(client, stack, conversation_id,
                                       expect_messages=per_customer, timeout=90)
            ids = [m["external_id"] for m in body["messages"]]
            assert ids == [f"{customer}-{n}" for n in range(1, per_customer + 1)]  # none lost,
            assert len(set(m["id"] for m in body["messages"])) == per_customer  # none twice
            assert body["message_count"] == per_customer
