"""crm-sync end to end in-process: MessageReceived on the bus in, the CRM and CrmSynced out."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI

from sportello.bus.codec import decode, encode
from sportello.bus.memory import InMemoryBus
from sportello.contracts import CrmSynced, Envelope, MessageReceived
from sportello.topics import CRM_SYNCED, MESSAGES_RECEIVED
from sportello_crm_sync.component import COMPONENT
from tests.crm_sync.conftest import CRM_TOKEN, message_received
from tests.support.app import running_app
from tests.support.fake_crm import FakeCrm
from tests.support.waiting import eventually


@asynccontextmanager
async def crm_sync_app(database_url: str) -> AsyncIterator[tuple[FastAPI, InMemoryBus]]:
    async with running_app([COMPONENT], database_url) as (app, _):
        bus = app.state.runtime.bus
        assert isinstance(bus, InMemoryBus)
        yield app, bus


@pytest.fixture
def crm_configured(monkeypatch: pytest.MonkeyPatch, fake_crm: FakeCrm) -> FakeCrm:
    # The runtime builds CrmSyncSettings from the environment (running_app passes base settings).
    monkeypatch.setenv("SPORTELLO_CRM_URL", fake_crm.url)
    monkeypatch.setenv("SPORTELLO_CRM_TOKEN", CRM_TOKEN)
    monkeypatch.setenv("SPORTELLO_CRM_TIMEOUT_SECONDS", "2")
    return fake_crm


def envelope_of(message: MessageReceived) -> Envelope:
    return Envelope.wrap(message, source="test", correlation_id="c",
                         subject=str(message.conversation_id))


async def publish(bus: InMemoryBus, *envelopes: Envelope) -> None:
    await bus.publish([encode(envelope, MESSAGES_RECEIVED) for envelope in envelopes])


def synced(bus: InMemoryBus) -> list[Envelope]:
    return [decode(record, CRM_SYNCED) for record in bus.records(CRM_SYNCED.name)]


def synced_events(bus: InMemoryBus) -> list[CrmSynced]:
    return [envelope.data for envelope in synced(bus) if isinstance(envelope.data, CrmSynced)]


async def test_customer_upserted_once_and_each_message_appended(
    database_url: str, crm_configured: FakeCrm
) -> None:
    customer_id = uuid.uuid4()
    first = message_received(customer_id, text="hello")
    second = message_received(customer_id, first.conversation_id, text="anyone there?")

    async with crm_sync_app(database_url) as (_, bus):
        await publish(bus, envelope_of(first), envelope_of(second))
        await eventually(lambda: len(synced(bus)) == 2)

    assert len(crm_configured.requests_to("PUT", str(customer_id))) == 1
    appended = crm_configured.interactions_of(str(customer_id))
    assert [(i["message_id"], i["text"]) for i in appended] == [
        (str(first.message_id), "hello"), (str(second.message_id), "anyone there?")]
    assert [e.subject for e in synced(bus)] == [str(first.conversation_id)] * 2
    assert [(e.message_id, e.status, e.crm_interaction_id) for e in synced_events(bus)] == [
        (first.message_id, "synced", appended[0]["id"]),
        (second.message_id, "synced", appended[1]["id"])]


async def test_a_redelivered_event_is_not_appended_twice(
    database_url: str, crm_configured: FakeCrm
) -> None:
    message = message_received()
    envelope = envelope_of(message)
    marker = message_received()  # published after the duplicate: once it is synced, both were seen

    async with crm_sync_app(database_url) as (_, bus):
        await publish(bus, envelope, envelope, envelope_of(marker))
        await eventually(lambda: any(e.message_id == marker.message_id
                                     for e in synced_events(bus)))

    assert len(crm_configured.requests_to("POST", "/interactions")) == 2  # message + marker
    assert len(crm_configured.interactions_of(str(message.customer_id))) == 1
    assert [e.message_id for e in synced_events(bus)] == [message.message_id, marker.message_id]


async def test_a_crm_outage_is_retried_until_it_succeeds(
    database_url: str, crm_configured: FakeCrm
) -> None:
    crm_configured.fail_next("POST", 503, times=3)
    message = message_received()

    async with crm_sync_app(database_url) as (_, bus):
        await publish(bus, envelope_of(message))
        await eventually(lambda: len(synced(bus)) == 1)

    assert bus.records(MESSAGES_RECEIVED.dead_letter) == []
    assert len(crm_configured.interactions_of(str(message.customer_id))) == 1


async def test_a_rejected_message_is_dead_lettered_with_the_reason(
    database_url: str, crm_configured: FakeCrm
) -> None:
    crm_configured.fail_next("PUT", 400)
    message = message_received()

    async with crm_sync_app(database_url) as (_, bus):
        await publish(bus, envelope_of(message))
        await eventually(lambda: len(bus.records(MESSAGES_RECEIVED.dead_letter)) == 1)

    [dead] = bus.records(MESSAGES_RECEIVED.dead_letter)
    reason = (dead.header("dlt_reason") or b"").decode()
    assert "400" in reason
    assert CRM_TOKEN not in reason
    assert synced(bus) == []


async def test_without_a_crm_messages_are_announced_not_configured(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPORTELLO_CRM_URL", raising=False)
    message = message_received()

    async with crm_sync_app(database_url) as (_, bus):
        await publish(bus, envelope_of(message))
        await eventually(lambda: len(synced(bus)) == 1)

    [event] = synced(bus)
    assert isinstance(event.data, CrmSynced)
    assert (event.data.message_id, event.data.status, event.data.crm) == (
        message.message_id, "not_configured", "none")
