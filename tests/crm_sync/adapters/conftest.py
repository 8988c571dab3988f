"""Vendor adapter fixtures: each fake vendor as a real HTTP server, and Sportello records to send it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from sportello_crm_sync.adapters.base import Customer, HistoryEntry, Identity
from tests.support.fake_hubspot import FakeHubSpot, running_fake_hubspot
from tests.support.fake_salesforce import FakeSalesforce, running_fake_salesforce

HUBSPOT_TOKEN = "pat-eu1-11111111-2222-3333-4444-555555555555"
SALESFORCE_TOKEN = "00DFK0000000001!AQ4AQstatic-session-token-abcdef"
CLIENT_ID = "3MVG9fakeConsumerKey"
CLIENT_SECRET = "fake-consumer-secret-0123456789ABCDEF"


@pytest.fixture
async def hubspot() -> AsyncIterator[FakeHubSpot]:
    async with running_fake_hubspot(token=HUBSPOT_TOKEN) as portal:
        yield portal


@pytest.fixture
async def salesforce() -> AsyncIterator[FakeSalesforce]:
    async with running_fake_salesforce(token=SALESFORCE_TOKEN, client_id=CLIENT_ID,
                                       client_secret=CLIENT_SECRET) as org:
        yield org


def customer(display_name: str = "Ada Lovelace", *identities: Identity) -> Customer:
    return Customer(external_ref=str(uuid.uuid4()), display_name=display_name,
                    identities=identities or (Identity("x", "@ada"), Identity("email", "ada@example.org")))


def entry(conversation_id: uuid.UUID | None = None, **overrides: Any) -> HistoryEntry:
    fields: dict[str, Any] = {
        "key": str(uuid.uuid4()), "kind": "message", "conversation_id": conversation_id or uuid.uuid4(),
        "occurred_at": datetime(2026, 11, 24, 9, 30, 15, 250_000, tzinfo=UTC),
        "summary": "Inbound x message", "channel": "x", "direction": "inbound",
        "text": "where is my parcel?", "message_id": uuid.uuid4(),
    }
    return HistoryEntry(**{**fields, **overrides})
