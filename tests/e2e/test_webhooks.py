"""Outbound webhooks over real Kafka and separate processes: the subscriber is down and crm-sync
is SIGKILLed while customers write; afterwards every webhook has arrived, signed, in order per
conversation, one id per event."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_message_flow import _message
from tests.support.app import auth
from tests.support.waiting import eventually
from tests.support.webhook_receiver import running_receiver

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


async def test_webhooks_survive_a_subscriber_outage_and_a_crm_sync_crash(stack: Stack) -> None:
    customers = [uuid.uuid4().hex for _ in range(8)]
    per_customer = 4
    crm_sync = stack.url("crm-sync")
    async with running_receiver() as receiver, httpx.AsyncClient(timeout=10) as client:
        created = await client.post(
            f"{crm_sync}/v1/webhooks/subscriptions", headers=auth("admin"),
            json={"url": receiver.hook_url, "event_types": ["message.created", "customer.created"]})
        assert created.status_code == 201, created.text
        receiver.secrets = [created.json()["secret"]]
        port = receiver.port
        await receiver.stop()

        external_ids: dict[str, str] = {}  # external id -> customer
        for n in range(1, per_customer + 1):
            for customer in customers:
                payload = _message(customer, n, f"message {n}: where is my refund?")
                posted = await client.post(f"{stack.url('ingest')}/v1/channels/api/messages",
                                           headers=auth("integration"), json=payload)
                assert posted.status_code == 201, posted.text
                external_ids[payload["external_id"]] = customer
            if n == 2:
                stack.services["crm-sync"].kill()  # mid-stream, with deliveries in flight
                await asyncio.to_thread(stack.restart, "crm-sync")

        await receiver.start(port)
        await eventually(lambda: _delivered(receiver, len(external_ids), len(customers)),
                         timeout=120, interval=0.5)

    accepted = receiver.accepted()
    assert all(r.valid for r in receiver.received)
    messages = [r.body["data"] for r in accepted if r.body["type"] == "message.created"]
    mine = [m for m in messages if m["external_id"] in external_ids]
    assert sorted(m["external_id"] for m in mine) == sorted(external_ids)  # all, none twice
    by_conversation: dict[str, list[str]] = defaultdict(list)
    for message in mine:
        by_conversation[message["conversation_id"]].append(message["external_id"])
    for ids in by_conversation.values():
        assert ids == sorted(ids, key=lambda e: int(e.rsplit("-", 1)[1]))
    ids_per_event: dict[tuple[str, str], set[str]] = defaultdict(set)
    for received in receiver.received:
        data = received.body["data"]
        ids_per_event[(received.body["type"], str(data.get("message_id") or data["customer_id"]))].add(
            received.webhook_id)
    assert all(len(ids) == 1 for ids in ids_per_event.values())
    created_customers = {r.body["data"]["display_name"] for r in accepted
                         if r.body["type"] == "customer.created"}
    assert {f"Customer {c[:6]}" for c in customers} <= created_customers


def _delivered(receiver: object, messages: int, customers: int) -> bool:
    accepted = receiver.accepted()  # type: ignore[attr-defined]
    kinds = [r.body["type"] for r in accepted]
    return kinds.count("message.created") >= messages and kinds.count("customer.created") >= customers
