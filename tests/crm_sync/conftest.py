"""crm-sync test fixtures: a real fake CRM over HTTP, and MessageReceived events to feed it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from sportello.contracts import Author, MessageReceived
from tests.support.fake_crm import FakeCrm, running_fake_crm

CRM_TOKEN = "crm-test-token-123456"


@pytest.fixture
async def fake_crm() -> AsyncIterator[FakeCrm]:
    async with running_fake_crm(token=CRM_TOKEN) as crm:
        yield crm


def message_received(customer_id: uuid.UUID | None = None,
                     conversation_id: uuid.UUID | None = None, *, text: str = "my order is late",
                     direction: str = "inbound") -> MessageReceived:
    now = datetime.now(UTC)
    return MessageReceived(
        message_id=uuid.uuid4(),
        conversation_id=conversation_id or uuid.uuid4(),
        customer_id=customer_id or uuid.uuid4(),
        conversation_opened=True,
        channel="chat",
        external_id=f"ext-{uuid.uuid4()}",
        direction=direction,  # type: ignore[arg-type]
        author=Author(id="@ada", display_name="Ada Lovelace"),
        text=text,
        sent_at=now,
        received_at=now,
    )


