"""Which webhook types anyone subscribes to, cached, so the fan-out group skips the events nobody
wants without a transaction (most deployments subscribe to a few types, or none).

The cache is refreshed at most every ``ttl`` seconds, and at once in the process that changes a
subscription. Another replica sees a new subscription within ``ttl``: events in that window are not
fanned out to it, as if it had been created a moment later.
"""

from __future__ import annotations

import time

from sqlalchemy import func, select

from sportello.contracts import ConversationPrioritised, Envelope
from sportello.db import Database
from sportello_crm_sync.tables import subscriptions
from sportello_crm_sync.webhooks.catalogue import webhooks_of

SLA_TYPES = frozenset({"sla.warning", "sla.breach"})


class SubscribedTypes:
    def __init__(self, db: Database, ttl: float = 2.0) -> None:
        self.db = db
        self.ttl = ttl
        self._types: frozenset[str] = frozenset()
        self._fresh_until = 0.0

    def invalidate(self) -> None:
        self._fresh_until = 0.0

    async def types(self) -> frozenset[str]:
        if time.monotonic() >= self._fresh_until:
            async with self.db.transaction() as tx:
                rows = await tx.session.execute(
                    select(func.unnest(subscriptions.c.event_types)).distinct()
                    .where(subscriptions.c.status != "disabled"))
                self._types = frozenset(row[0] for row in rows)
            self._fresh_until = time.monotonic() + self.ttl
        return self._types

    async def wants(self, envelope: Envelope) -> bool:
        types = await self.types()
        if not types:
            return False
        event = envelope.data
        if isinstance(event, ConversationPrioritised):
            return bool(types & SLA_TYPES)
        return any(webhook.type in types for webhook in webhooks_of(event, envelope.occurred_at))
