"""SQL of outbound webhooks: subscriptions and the SLA stage each conversation was last seen in."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import any_, delete, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_crm_sync.tables import sla_stages, subscriptions

_PUBLIC = (subscriptions.c.id, subscriptions.c.url, subscriptions.c.event_types,
           subscriptions.c.description, subscriptions.c.status, subscriptions.c.disabled_reason,
           subscriptions.c.previous_expires_at, subscriptions.c.created_at)


class WebhookQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, *, url: str, event_types: list[str], description: str | None,
                     secret: str) -> dict[str, Any]:
        row = (await self.session.execute(
            subscriptions.insert().values(id=uuid.uuid4(), url=url, event_types=event_types,
                                          description=description, secret=secret)
            .returning(*_PUBLIC))).one()
        return dict(row._mapping)

    async def get(self, subscription_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(
            select(*_PUBLIC).where(subscriptions.c.id == subscription_id))).first()
        return dict(row._mapping) if row else None

    async def listing(self) -> list[dict[str, Any]]:
        rows = await self.session.execute(select(*_PUBLIC).order_by(subscriptions.c.created_at))
        return [dict(row._mapping) for row in rows]

    async def change(self, subscription_id: uuid.UUID, **values: Any) -> dict[str, Any] | None:
        row = (await self.session.execute(
            update(subscriptions).where(subscriptions.c.id == subscription_id).values(**values)
            .returning(*_PUBLIC))).first()
        return dict(row._mapping) if row else None

    async def remove(self, subscription_id: uuid.UUID) -> bool:
        deleted = (await self.session.execute(
            delete(subscriptions).where(subscriptions.c.id == subscription_id)
            .returning(subscriptions.c.id))).scalar_one_or_none()
        return deleted is not None

    async def rotate(self, subscription_id: uuid.UUID, secret: str,
                     previous_expires_at: datetime) -> dict[str, Any] | None:
        """The new secret signs from now; the current one keeps signing until it expires."""
        row = (await self.session.execute(
            update(subscriptions).where(subscriptions.c.id == subscription_id)
            .values(previous_secret=subscriptions.c.secret, previous_expires_at=previous_expires_at,
                    secret=secret)
            .returning(*_PUBLIC))).first()
        return dict(row._mapping) if row else None

    async def signing_secrets(self, subscription_id: uuid.UUID, now: datetime) -> list[str]:
        row = (await self.session.execute(
            select(subscriptions.c.secret, subscriptions.c.previous_secret,
                   subscriptions.c.previous_expires_at)
            .where(subscriptions.c.id == subscription_id))).first()
        if row is None:
            return []
        secret, previous, expires = row
        if previous and expires is not None and expires > now:
            return [secret, previous]
        return [secret]

    async def target_of(self, subscription_id: uuid.UUID) -> tuple[str, str] | None:
        """The subscription's URL and status; None once it is deleted."""
        row = (await self.session.execute(
            select(subscriptions.c.url, subscriptions.c.status)
            .where(subscriptions.c.id == subscription_id))).first()
        return (row.url, row.status) if row else None

    async def subscribed_to(self, event_type: str) -> list[uuid.UUID]:
        """Active or paused subscriptions for ``event_type`` (paused ones queue, deliver later)."""
        rows = await self.session.execute(
            select(subscriptions.c.id).where(literal(event_type) == any_(subscriptions.c.event_types),
                                             subscriptions.c.status != "disabled")
            # One order for every fan-out: the lane locks are always taken in this order.
            .order_by(subscriptions.c.id))
        return [row[0] for row in rows]

    async def swap_sla_stage(self, conversation_id: uuid.UUID, stage: str,
                             deadline: datetime | None, sequence: int) -> str | bool | None:
        """Store the stage seen at ``sequence``; returns the previous stage (None: first seen), or
        False when this sequence is not newer than the stored one (a stale or repeated event)."""
        previous = (await self.session.execute(
            select(sla_stages.c.stage, sla_stages.c.sequence)
            .where(sla_stages.c.conversation_id == conversation_id).with_for_update())).first()
        if previous is not None and previous.sequence >= sequence:
            return False
        statement = insert(sla_stages).values(conversation_id=conversation_id, stage=stage,
                                              deadline=deadline, sequence=sequence)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=[sla_stages.c.conversation_id],
            set_={"stage": stage, "deadline": deadline, "sequence": sequence}))
        return None if previous is None else str(previous.stage)
