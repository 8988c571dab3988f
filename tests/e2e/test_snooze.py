"""Snooze end to end, each service a process on real Kafka and PostgreSQL: ingest snoozes, the
gateway's read model shows it out of the open inbox, assignment frees the owner's slot; the customer's
next message wakes it, back to the same owner. (This stack runs the gateway without upstreams, so
the actions go to their owning services; the proxy has its own tests.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_message_flow import _conversation, _message
from tests.support.app import auth

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


async def _until(check: Callable[[], Awaitable[Any]], timeout: float = 60) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.25)
    raise AssertionError(f"not reached within {timeout}s")


async def test_snooze_frees_the_slot_and_the_customer_wakes_it_back_to_its_owner(stack: Stack) -> None:
    customer = uuid.uuid4().hex
    gateway = stack.url("gateway")
    async with httpx.AsyncClient(timeout=10) as client:
        posted = await client.post(f"{stack.url('ingest')}/v1/channels/api/messages",
                                   headers=auth("integration"),
                                   json=_message(customer, 1, "My order never arrived"))
        conversation_id = posted.json()["conversation_id"]
        body = await _conversation(client, stack, conversation_id, expect_messages=1)
        owner = body["assignment"]["agent"]["id"]

        async def load() -> float:
            agent = await client.get(f"{stack.url('assignment')}/v1/agents/{owner}",
                                     headers=auth("supervisor"))
            assert agent.status_code == 200, agent.text
            return float(agent.json()["load"])

        before = await load()
        snoozed = await client.post(f"{stack.url('ingest')}/v1/conversations/{conversation_id}/snooze",
                                    json={}, headers=auth("agent"))
        assert snoozed.status_code == 200, snoozed.text
        assert snoozed.json()["status"] == "snoozed"

        async def shown(status: str) -> dict[str, Any] | None:
            detail = (await client.get(f"{gateway}/v1/conversations/{conversation_id}",
                                       headers=auth("agent"))).json()
            return detail if detail["status"] == status else None

        await _until(lambda: shown("snoozed"))
        await _until(lambda: _lower(load, before))

        await client.post(f"{stack.url('ingest')}/v1/channels/api/messages", headers=auth("integration"),
                          json=_message(customer, 2, "Hello? Still nothing"))
        woken = await _until(lambda: shown("open"))
        assert woken["assignment"]["agent"]["id"] == owner  # sticky: back to its owner
        actions = [e["status"]["action"] for e in woken["timeline"] if e["kind"] == "status"]
        assert actions[-2:] == ["snoozed", "unsnoozed"]
        await _until(lambda: _at_least(load, before))


async def _lower(load: Callable[[], Awaitable[float]], than: float) -> bool:
    return await load() < than


async def _at_least(load: Callable[[], Awaitable[float]], value: float) -> bool:
    return await load() >= value
