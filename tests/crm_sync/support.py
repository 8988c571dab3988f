"""crm-sync in-process (real PostgreSQL, the in-process bus, real HTTP to fakes), and the events
that feed it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from sportello.bus.codec import encode
from sportello.bus.memory import InMemoryBus
from sportello.contracts import (
    AgentRef,
    ConversationAssigned,
    ConversationStatusChanged,
    Envelope,
    Event,
)
from sportello.runtime import Context
from sportello.topics import topic_for
from sportello_crm_sync.component import COMPONENT
from sportello_crm_sync.tables import jobs
from tests.support.app import auth, running_app

# Fast retries so outages and recoveries take a test a second, not a day.
FAST = {
    "webhook_allow_insecure_urls": True,
    "delivery_poll_seconds": 0.05,
    "webhook_retry_base_seconds": 0.05,
    "webhook_retry_cap_seconds": 0.4,
    "crm_retry_base_seconds": 0.05,
    "crm_retry_cap_seconds": 0.4,
    "crm_breaker_cooldown_seconds": 0.3,
    "crm_breaker_cooldown_cap_seconds": 0.6,
    "crm_timeout_seconds": 2.0,
}


@dataclass
class CrmSyncApp:
    app: FastAPI
    client: httpx.AsyncClient
    bus: InMemoryBus

    @property
    def ctx(self) -> Context:
        contexts: dict[str, Context] = self.app.state.contexts
        return contexts["crm-sync"]

    async def publish(self, *events: Event) -> list[Envelope]:
        """Put events on their topics, keyed like their producers key them."""
        envelopes = [Envelope.wrap(event, source="test", correlation_id="test",
                                   subject=str(_subject_of(event))) for event in events]
        await self.bus.publish([encode(envelope, topic_for(type(envelope.data)))
                                for envelope in envelopes])
        return envelopes

    async def call(self, method: str, path: str, role: str = "admin", **kwargs: Any) -> httpx.Response:
        return await self.client.request(method, path, headers=auth(role), **kwargs)

    async def scalar(self, query: Any) -> Any:
        async with self.ctx.db.transaction() as tx:
            return (await tx.session.execute(query)).scalar_one_or_none()

    async def jobs_in(self, sink: str, state: str | None = None) -> int:
        async with self.ctx.db.transaction() as tx:
            query = select(func.count()).select_from(jobs).where(jobs.c.sink == sink)
            if state is not None:
                query = query.where(jobs.c.state == state)
            return int((await tx.session.execute(query)).scalar_one())


def _subject_of(event: Event) -> Any:
    return getattr(event, "conversation_id", None) or event.customer_id


@asynccontextmanager
async def crm_sync_app(database_url: str, **overrides: object) -> AsyncIterator[CrmSyncApp]:
    async with running_app([COMPONENT], database_url, **{**FAST, **overrides}) as (app, client):
        bus = app.state.runtime.bus
        assert isinstance(bus, InMemoryBus)
        yield CrmSyncApp(app, client, bus)


def assigned(conversation_id: uuid.UUID, customer_id: uuid.UUID, sequence: int,
             agent: str = "Ada") -> ConversationAssigned:
    return ConversationAssigned(
        conversation_id=conversation_id, customer_id=customer_id,
        agent=AgentRef(id=uuid.uuid4(), name=agent, team="billing"), reason="new", priority=50.0,
        sequence=sequence, assigned_at=datetime.now(UTC))


def status_changed(conversation_id: uuid.UUID, customer_id: uuid.UUID, sequence: int,
                   status: str = "resolved") -> ConversationStatusChanged:
    return ConversationStatusChanged(
        conversation_id=conversation_id, customer_id=customer_id, status=status,  # type: ignore[arg-type]
        reason="resolved" if status == "resolved" else "reopened_by_agent", sequence=sequence,
        at=datetime.now(UTC))
