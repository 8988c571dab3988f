"""All of priority's SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, RowMapping, Text, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_priority.tables import (
    calendars,
    checkpoints,
    conversations,
    customers,
    labels,
    message_scores,
    overrides,
    press_list,
    sla_policies,
    weight_profiles,
)

# Checkpoints that only ask for a recomputation are named recompute:<reason>.
RECOMPUTE = "recompute:"
# When an override ends: the ticker recomputes then, which drops it (and says override_cleared).
OVERRIDE_EXPIRY = f"{RECOMPUTE}override_cleared"


class ScoreRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Messages

    async def save_score(self, values: dict[str, Any]) -> bool:
        """False when the message was already scored (the score is never recomputed)."""
        inserted = await self.session.execute(
            insert(message_scores).values(**values).on_conflict_do_nothing()
            .returning(message_scores.c.message_id)
        )
        return inserted.first() is not None

    async def message_score(self, message_id: uuid.UUID) -> RowMapping | None:
        result = await self.session.execute(
            select(message_scores).where(message_scores.c.message_id == message_id))
        return result.mappings().first()

    async def correct_label(self, message_id: uuid.UUID, label: str | None) -> None:
        await self.session.execute(
            update(message_scores).where(message_scores.c.message_id == message_id)
            .values(corrected_label=label))

    async def sentiment_points(self, conversation_id: uuid.UUID) -> Sequence[RowMapping]:
        result = await self.session.execute(
            select(message_scores.c.message_id, message_scores.c.sent_at,
                   func.coalesce(message_scores.c.corrected_label,
                                 message_scores.c.sentiment_label).label("label"),
                   message_scores.c.sentiment_score)
            .where(message_scores.c.conversation_id == conversation_id,
                   message_scores.c.sent_at.is_not(None))
            .order_by(message_scores.c.sent_at, message_scores.c.message_id)
        )
        return result.mappings().all()

    async def inbound_after(self, conversation_id: uuid.UUID,
                            at: datetime) -> Sequence[RowMapping]:
        """The conversation's scored (inbound) messages sent after ``at``, in sent order."""
        result = await self.session.execute(
            select(message_scores.c.sent_at, message_scores.c.breakdown, message_scores.c.intent)
            .where(message_scores.c.conversation_id == conversation_id,
                   message_scores.c.sent_at > at)
            .order_by(message_scores.c.sent_at, message_scores.c.message_id))
        return result.mappings().all()

    # Customers

    async def upsert_author(self, customer_id: uuid.UUID, handle: str | None,
                            followers: int | None, verified: bool,
                            conversation_id: uuid.UUID) -> RowMapping:
        """Record what the platform says about the author; the customer as ``customer`` returns it,
        in the same statement (the hot path)."""
        values = dict(id=customer_id, handle=handle, followers=followers, verified=verified)
        statement = insert(customers).values(**values)
        # A message without an audience figure (e-mail, chat) keeps the one another channel gave.
        result = await self.session.execute(statement.on_conflict_do_update(
            index_elements=[customers.c.id],
            set_={"handle": func.coalesce(statement.excluded.handle, customers.c.handle),
                  "followers": func.coalesce(statement.excluded.followers, customers.c.followers),
                  "verified": customers.c.verified | statement.excluded.verified},
        ).returning(*customers.c, self._earlier(conversation_id, customer_id)))
        return result.mappings().one()

    async def apply_crm(self, customer_id: uuid.UUID, sequence: int, values: dict[str, Any]) -> bool:
        statement = insert(customers).values(id=customer_id, crm_sequence=sequence, **values)
        applied = await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[customers.c.id], set_={"crm_sequence": sequence, **values},
                where=or_(customers.c.crm_sequence.is_(None), customers.c.crm_sequence < sequence),
            ).returning(customers.c.id))
        return applied.first() is not None

    async def customer(self, customer_id: uuid.UUID,
                       conversation_id: uuid.UUID) -> RowMapping | None:
        """The customer, with ``earlier``: how many other conversations they have had."""
        result = await self.session.execute(
            select(customers, self._earlier(conversation_id, customers.c.id))
            .where(customers.c.id == customer_id))
        return result.mappings().first()

    @staticmethod
    def _earlier(conversation_id: uuid.UUID, customer: Any) -> Any:
        # ``customer`` is the id itself in an INSERT's RETURNING: there a reference to the
        # customers column does not correlate (the subquery would count every customer's).
        return (select(func.count()).select_from(conversations)
                .where(conversations.c.customer_id == customer,
                       conversations.c.id != conversation_id)
                .scalar_subquery().label("earlier"))

    # Conversations

    async def lock_conversation(self, conversation_id: uuid.UUID) -> RowMapping | None:
        result = await self.session.execute(
            select(conversations).where(conversations.c.id == conversation_id).with_for_update())
        return result.mappings().first()

    async def insert_conversation(self, values: dict[str, Any]) -> RowMapping | None:
        """The new row, or None when another transaction created it first."""
        result = await self.session.execute(
            insert(conversations).values(**values).on_conflict_do_nothing()
            .returning(*conversations.c))
        return result.mappings().first()

    async def update_conversation(self, conversation_id: uuid.UUID, values: dict[str, Any]) -> None:
        await self.session.execute(
            update(conversations).where(conversations.c.id == conversation_id).values(**values))

    async def open_conversations_of_customer(self, customer_id: uuid.UUID) -> list[uuid.UUID]:
        result = await self.session.execute(
            select(conversations.c.id).where(conversations.c.customer_id == customer_id,
                                             conversations.c.status == "open"))
        return list(result.scalars())

    async def open_conversations_of_handle(self, handle: str) -> list[uuid.UUID]:
        result = await self.session.execute(
            select(conversations.c.id)
            .join(customers, customers.c.id == conversations.c.customer_id)
            .where(func.lower(func.ltrim(customers.c.handle, "@")) == handle,
                   conversations.c.status == "open"))
        return list(result.scalars())

    # Checkpoints

    async def replace_checkpoints(self, conversation_id: uuid.UUID,
                                  due: Sequence[tuple[str, datetime]], *, clear: bool = True) -> None:
        """The clock's stage checkpoints (pending recompute requests are kept; ``clear=False`` when
        the caller knows there are none to remove). Callers hold the conversation's lock: every
        writer takes it before its checkpoints, so none deadlock."""
        if clear:
            await self.session.execute(
                delete(checkpoints).where(checkpoints.c.conversation_id == conversation_id,
                                          checkpoints.c.stage.not_like(f"{RECOMPUTE}%")))
        if due:
            await self.session.execute(insert(checkpoints).values(
                [dict(conversation_id=conversation_id, stage=stage, due_at=at) for stage, at in due]
            ).on_conflict_do_nothing())

    async def request_recompute(self, conversation_ids: Sequence[uuid.UUID], at: datetime,
                                reason: str) -> None:
        if not conversation_ids:
            return
        # In id order, as request_recompute_in_profile: two requests over the same conversations
        # wait for each other's rows in one order, never in a cycle (a deadlock).
        statement = insert(checkpoints).values(
            [dict(conversation_id=c, stage=f"{RECOMPUTE}{reason}", due_at=at)
             for c in sorted(set(conversation_ids))])
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=[checkpoints.c.conversation_id, checkpoints.c.stage],
            set_={"due_at": func.least(checkpoints.c.due_at, statement.excluded.due_at)}))

    async def request_recompute_in_profile(self, profile: str, at: datetime) -> int:
        """Queue every open conversation a weights profile may apply to (one statement; the
        ticker works through them in batches)."""
        kind, _, key = profile.partition(":")
        scope = conversations.c.status == "open"
        if kind == "team":
            scope = scope & (conversations.c.team == key)
        elif kind == "brand":
            scope = scope & (conversations.c.account == key)
        source = select(conversations.c.id, literal(f"{RECOMPUTE}weights_changed", Text),
                        literal(at, DateTime(timezone=True))).where(scope)
        source = source.order_by(conversations.c.id)  # the lock order of request_recompute
        statement = insert(checkpoints).from_select(["conversation_id", "stage", "due_at"], source)
        result = await self.session.execute(statement.on_conflict_do_nothing())
        return result.rowcount or 0  # type: ignore[attr-defined]

    async def due_conversations(self, now: datetime, limit: int) -> list[uuid.UUID]:
        """Conversations with a checkpoint come due, earliest first (not locked: see take_due)."""
        result = await self.session.execute(
            select(checkpoints.c.conversation_id).where(checkpoints.c.due_at <= now)
            .group_by(checkpoints.c.conversation_id)
            .order_by(func.min(checkpoints.c.due_at), checkpoints.c.conversation_id).limit(limit))
        return list(result.scalars())

    async def lock_conversation_unless_busy(self, conversation_id: uuid.UUID) -> RowMapping | None:
        """The conversation locked, or None if another transaction holds it (it is scoring a
        message or another replica's ticker has it; the checkpoint stays for the next tick)."""
        result = await self.session.execute(
            select(conversations).where(conversations.c.id == conversation_id)
            .with_for_update(skip_locked=True))
        return result.mappings().first()

    async def take_due(self, conversation_id: uuid.UUID, now: datetime) -> list[str]:
        """Remove the conversation's checkpoints come due; their stages. Hold its lock first."""
        result = await self.session.execute(
            delete(checkpoints).where(checkpoints.c.conversation_id == conversation_id,
                                      checkpoints.c.due_at <= now)
            .returning(checkpoints.c.stage))
        return list(result.scalars())

    async def drop_checkpoints(self, conversation_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(checkpoints).where(checkpoints.c.conversation_id == conversation_id))

    # Overrides (a supervisor's pin on a conversation's priority)

    async def override(self, conversation_id: uuid.UUID) -> RowMapping | None:
        result = await self.session.execute(
            select(overrides).where(overrides.c.conversation_id == conversation_id))
        return result.mappings().first()

    async def put_override(self, values: dict[str, Any]) -> RowMapping:
        statement = insert(overrides).values(**values)
        result = await self.session.execute(statement.on_conflict_do_update(
            index_elements=[overrides.c.conversation_id],
            set_={k: v for k, v in values.items() if k != "conversation_id"},
        ).returning(*overrides.c))
        return result.mappings().one()

    async def delete_override(self, conversation_id: uuid.UUID) -> RowMapping | None:
        result = await self.session.execute(
            delete(overrides).where(overrides.c.conversation_id == conversation_id)
            .returning(*overrides.c))
        return result.mappings().first()

    async def replace_checkpoint(self, conversation_id: uuid.UUID, stage: str,
                                 due_at: datetime | None) -> None:
        """Set one checkpoint's moment exactly (unlike request_recompute, which only brings it
        forward), or remove it when ``due_at`` is None. Hold the conversation's lock first."""
        await self.session.execute(
            delete(checkpoints).where(checkpoints.c.conversation_id == conversation_id,
                                      checkpoints.c.stage == stage))
        if due_at is not None:
            await self.session.execute(insert(checkpoints).values(
                conversation_id=conversation_id, stage=stage, due_at=due_at))

    # Configuration

    async def weight_profiles(self) -> dict[str, dict[str, float]]:
        result = await self.session.execute(select(weight_profiles.c.name, weight_profiles.c.weights))
        return {row.name: row.weights for row in result}

    async def weight_profile_rows(self) -> Sequence[RowMapping]:
        result = await self.session.execute(select(weight_profiles).order_by(weight_profiles.c.name))
        return result.mappings().all()

    async def put_weights(self, name: str, weights: dict[str, float], by: str) -> None:
        statement = insert(weight_profiles).values(name=name, weights=weights, updated_by=by)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=[weight_profiles.c.name],
            set_={"weights": weights, "updated_by": by, "updated_at": func.now()}))

    async def delete_weights(self, name: str) -> bool:
        result = await self.session.execute(
            delete(weight_profiles).where(weight_profiles.c.name == name)
            .returning(weight_profiles.c.name))
        return result.first() is not None

    async def specs(self, kind: str) -> dict[str, dict[str, Any]]:
        table = calendars if kind == "calendars" else sla_policies
        result = await self.session.execute(select(table.c.name, table.c.spec).order_by(table.c.name))
        return {row.name: row.spec for row in result}

    async def put_spec(self, kind: str, name: str, spec: dict[str, Any]) -> None:
        table = calendars if kind == "calendars" else sla_policies
        statement = insert(table).values(name=name, spec=spec)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=[table.c.name], set_={"spec": spec, "updated_at": func.now()}))

    async def delete_spec(self, kind: str, name: str) -> bool:
        table = calendars if kind == "calendars" else sla_policies
        result = await self.session.execute(
            delete(table).where(table.c.name == name).returning(table.c.name))
        return result.first() is not None

    async def press_handles(self) -> dict[str, str | None]:
        result = await self.session.execute(select(press_list.c.handle, press_list.c.note))
        return {row.handle: row.note for row in result}

    async def add_press(self, handle: str, note: str | None) -> None:
        statement = insert(press_list).values(handle=handle, note=note)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=[press_list.c.handle], set_={"note": note}))

    async def remove_press(self, handle: str) -> bool:
        result = await self.session.execute(
            delete(press_list).where(press_list.c.handle == handle).returning(press_list.c.handle))
        return result.first() is not None

    # Labels (agents' corrections)

    async def put_label(self, values: dict[str, Any]) -> RowMapping:
        statement = insert(labels).values(**values)
        result = await self.session.execute(statement.on_conflict_do_update(
            index_elements=[labels.c.message_id],
            set_={"sentiment": func.coalesce(statement.excluded.sentiment, labels.c.sentiment),
                  "intent": func.coalesce(statement.excluded.intent, labels.c.intent),
                  "corrected_by": statement.excluded.corrected_by,
                  "corrected_at": func.now(), "revision": labels.c.revision + 1},
        ).returning(*labels.c))
        return result.mappings().one()

    async def labels_page(self, after: uuid.UUID | None, limit: int) -> Sequence[RowMapping]:
        query = select(labels).order_by(labels.c.message_id).limit(limit)
        if after is not None:
            query = query.where(labels.c.message_id > after)
        return (await self.session.execute(query)).mappings().all()
