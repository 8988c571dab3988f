"""All of ingest's SQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CTE, ColumnElement, and_, cast, delete, func, literal, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_ingest.tables import (
    UNRESOLVED,
    chat_sessions,
    conversations,
    customer_audit,
    customers,
    deliveries,
    identities,
    merge_suggestions,
    merges,
    messages,
    outbound_queue,
    private_replies,
    send_pauses,
)


@dataclass(frozen=True)
class StoredMessage:
    id: uuid.UUID
    conversation_id: uuid.UUID
    customer_id: uuid.UUID


@dataclass(frozen=True)
class ConversationRow:
    id: uuid.UUID
    customer_id: uuid.UUID
    account: str
    channel: str
    status: str
    resolved_at: datetime | None
    status_sequence: int
    snoozed_until: datetime | None = None


@dataclass(frozen=True)
class CustomerRow:
    id: uuid.UUID
    blocked: bool
    display_name: str
    followers: int | None
    verified: bool
    # Whether the identity it was found by is verified (a claimed one routes no messages).
    identity_verified: bool = True


_CONVERSATION_COLUMNS = (conversations.c.id, conversations.c.customer_id, conversations.c.account,
                         conversations.c.channel, conversations.c.status, conversations.c.resolved_at,
                         conversations.c.status_sequence, conversations.c.snoozed_until)
_IDENTITY_COLUMNS = (identities.c.platform, identities.c.external_id, identities.c.handle,
                     identities.c.source, identities.c.verified, identities.c.created_at)
_UUID = customers.c.id.type


def _history(customer_id: uuid.UUID | ColumnElement[Any]) -> CTE:
    """A customer and every customer merged into them, however deep: one person's history.

    Conversations and messages keep the customer they were made for; a merge makes them part of the
    survivor's history through ``merged_into`` rather than rewriting them, so an unmerge has nothing to put
    back. For a customer nobody was merged into, this is the customer alone (two index lookups).
    """
    start = customer_id if isinstance(customer_id, ColumnElement) else cast(literal(customer_id, _UUID), _UUID)
    history = select(start.label("id")).cte("history", recursive=True)
    merged = customers.alias("merged")
    return history.union(select(merged.c.id).where(merged.c.merged_into == history.c.id))


def _root(customer_id: uuid.UUID) -> ColumnElement[Any]:
    """The customer ``customer_id`` was merged into, following merges up to one that is not merged."""
    lineage = (select(customers.c.id, customers.c.merged_into).where(customers.c.id == customer_id)
               .cte("lineage", recursive=True))
    parent = customers.alias("parent")
    lineage = lineage.union(select(parent.c.id, parent.c.merged_into)
                            .where(parent.c.id == lineage.c.merged_into))
    return select(lineage.c.id).where(lineage.c.merged_into.is_(None)).scalar_subquery()


def _in_history(column: ColumnElement[Any], customer_id: uuid.UUID | ColumnElement[Any]) -> ColumnElement[bool]:
    history = _history(customer_id)
    return column.in_(select(history.c.id))


class IngestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- messages -------------------------------------------------------------------------------

    async def find_message(self, channel: str, external_id: str) -> StoredMessage | None:
        row = (await self.session.execute(
            select(messages.c.id, messages.c.conversation_id, messages.c.customer_id)
            .where(messages.c.channel == channel, messages.c.external_id == external_id)
        )).first()
        return StoredMessage(*row) if row else None

    async def message(self, message_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(select(messages).where(messages.c.id == message_id))).first()
        return dict(row._mapping) if row else None

    async def insert_message(self, values: dict[str, Any]) -> bool:
        """False when a concurrent request stored the same (channel, external_id) first."""
        inserted = (await self.session.execute(
            insert(messages).values(**values)
            .on_conflict_do_nothing(constraint="messages_channel_external_id_key")
            .returning(messages.c.id)
        )).scalar_one_or_none()
        return inserted is not None

    async def last_public_inbound(self, customer_id: uuid.UUID, account: str,
                                  since: datetime) -> StoredMessage | None:
        """The customer's (their history's) last public message on the account since ``since``."""
        row = (await self.session.execute(
            select(messages.c.id, messages.c.conversation_id, messages.c.customer_id)
            .where(_in_history(messages.c.customer_id, customer_id), messages.c.account == account,
                   messages.c.direction == "inbound", messages.c.visibility == "public",
                   messages.c.sent_at >= since)
            .order_by(messages.c.sent_at.desc()).limit(1)
        )).first()
        return StoredMessage(*row) if row else None

    async def last_inbound(self, conversation_id: uuid.UUID, visibility: str) -> dict[str, Any] | None:
        row = (await self.session.execute(
            select(messages.c.external_id, messages.c.sent_at, messages.c.author_id, messages.c.subject)
            .where(messages.c.conversation_id == conversation_id, messages.c.direction == "inbound",
                   messages.c.visibility == visibility)
            .order_by(messages.c.sent_at.desc()).limit(1)
        )).first()
        return dict(row._mapping) if row else None

    async def external_ids_of(self, conversation_id: uuid.UUID) -> list[str]:
        rows = await self.session.execute(
            select(messages.c.external_id)
            .where(messages.c.conversation_id == conversation_id, messages.c.external_id.is_not(None))
            .order_by(messages.c.sent_at))
        return [row[0] for row in rows]

    async def pending_echo(self, account: str, text_: str) -> StoredMessage | None:
        """An agent reply still being sent whose text matches a brand message the platform echoed."""
        row = (await self.session.execute(
            select(messages.c.id, messages.c.conversation_id, messages.c.customer_id)
            .where(messages.c.account == account, messages.c.direction == "outbound",
                   messages.c.external_id.is_(None), messages.c.delivery_status == "pending",
                   messages.c.text == text_)
            .order_by(messages.c.received_at).limit(1)
        )).first()
        return StoredMessage(*row) if row else None

    async def set_delivery(self, message_id: uuid.UUID, status: str, *, error: str | None = None,
                           only_from: tuple[str, ...]) -> bool:
        """Move a message's delivery status forward; False if it was not in one of ``only_from``."""
        updated = (await self.session.execute(
            update(messages)
            .where(messages.c.id == message_id, messages.c.delivery_status.in_(only_from))
            .values(delivery_status=status, delivery_error=error).returning(messages.c.id)
        )).scalar_one_or_none()
        return updated is not None

    async def set_external_id(self, message_id: uuid.UUID, external_id: str) -> None:
        """Record the platform's id of our reply; the first one recorded stays."""
        await self.session.execute(
            update(messages).where(messages.c.id == message_id, messages.c.external_id.is_(None))
            .values(external_id=external_id))

    async def outbound_to_recipient_until(self, account: str, platform: str, recipient_id: str,
                                          until: datetime, statuses: tuple[str, ...]) -> list[StoredMessage]:
        """Outbound messages to a customer (by platform id) sent up to ``until``: watermark receipts.

        To the identity's owner and the customers merged into them: a reply written before a merge was
        addressed to the same person."""
        owner = (select(identities.c.customer_id)
                 .where(identities.c.platform == platform, identities.c.external_id == recipient_id)
                 .scalar_subquery())
        rows = await self.session.execute(
            select(messages.c.id, messages.c.conversation_id, messages.c.customer_id)
            .where(messages.c.account == account, messages.c.direction == "outbound",
                   messages.c.visibility == "private",  # a DM read receipt says nothing of public replies
                   messages.c.delivery_status.in_(statuses), messages.c.sent_at <= until,
                   _in_history(messages.c.customer_id, owner))
        )
        return [StoredMessage(*row) for row in rows]

    # -- customers and identities ---------------------------------------------------------------

    async def customer_of(self, platform: str, external_id: str) -> CustomerRow | None:
        row = (await self.session.execute(
            select(customers.c.id, customers.c.blocked, customers.c.display_name, customers.c.followers,
                   customers.c.verified, identities.c.verified)
            .join(identities, identities.c.customer_id == customers.c.id)
            .where(identities.c.platform == platform, identities.c.external_id == external_id)
        )).first()
        return CustomerRow(*row) if row else None

    async def create_customer(self, display_name: str, followers: int | None, verified: bool) -> uuid.UUID:
        customer_id = uuid.uuid4()
        await self.session.execute(insert(customers).values(
            id=customer_id, display_name=display_name, followers=followers, verified=verified))
        return customer_id

    async def update_profile(self, customer_id: uuid.UUID, display_name: str, followers: int | None,
                             verified: bool) -> None:
        values: dict[str, Any] = {"display_name": display_name, "verified": verified}
        if followers is not None:
            values["followers"] = followers
        await self.session.execute(update(customers).where(customers.c.id == customer_id).values(**values))

    async def add_identity(self, platform: str, external_id: str, customer_id: uuid.UUID,
                           handle: str | None, source: str, *, verified: bool = True) -> uuid.UUID:
        """Link an identity to a customer; returns the customer that owns it (an earlier link wins)."""
        await self.insert_identity(platform, external_id, customer_id, handle, source, verified=verified)
        owner = (await self.session.execute(
            select(identities.c.customer_id)
            .where(identities.c.platform == platform, identities.c.external_id == external_id)
        )).scalar_one()
        return owner  # type: ignore[no-any-return]

    async def insert_identity(self, platform: str, external_id: str, customer_id: uuid.UUID,
                              handle: str | None, source: str, *, verified: bool) -> bool:
        """False when the identity already exists (whoever owns it)."""
        inserted = (await self.session.execute(
            insert(identities).values(platform=platform, external_id=external_id, customer_id=customer_id,
                                      handle=handle, source=source, verified=verified)
            .on_conflict_do_nothing(index_elements=["platform", "external_id"])
            .returning(identities.c.customer_id)
        )).scalar_one_or_none()
        return inserted is not None

    async def identity(self, platform: str, external_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        query = (select(identities.c.customer_id, *_IDENTITY_COLUMNS)
                 .where(identities.c.platform == platform, identities.c.external_id == external_id))
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return dict(row._mapping) if row else None

    async def identity_of(self, customer_id: uuid.UUID, platform: str) -> str | None:
        """The customer's id on a platform, to answer them there; for a customer merged into another, the
        survivor's (their identities moved there). Verified ones first, then the newest."""
        return (await self.session.execute(  # type: ignore[no-any-return]
            select(identities.c.external_id)
            .where(identities.c.customer_id == _root(customer_id), identities.c.platform == platform)
            .order_by(identities.c.verified.desc(), identities.c.created_at.desc()).limit(1)
        )).scalar_one_or_none()

    async def take_identity(self, platform: str, external_id: str, from_customer: uuid.UUID,
                            to_customer: uuid.UUID, handle: str | None, source: str) -> bool:
        """Move an identity ``from_customer`` only claimed to the customer it is proven to be, as verified."""
        moved = (await self.session.execute(
            update(identities)
            .where(identities.c.platform == platform, identities.c.external_id == external_id,
                   identities.c.customer_id == from_customer, identities.c.verified.is_(False))
            .values(customer_id=to_customer, verified=True, source=source,
                    handle=func.coalesce(handle, identities.c.handle))
            .returning(identities.c.platform)
        )).scalar_one_or_none()
        return moved is not None

    async def verify_identity(self, platform: str, external_id: str, customer_id: uuid.UUID) -> bool:
        updated = (await self.session.execute(
            update(identities)
            .where(identities.c.platform == platform, identities.c.external_id == external_id,
                   identities.c.customer_id == customer_id, identities.c.verified.is_(False))
            .values(verified=True).returning(identities.c.platform)
        )).scalar_one_or_none()
        return updated is not None

    async def move_identities(self, from_customer: uuid.UUID, to_customer: uuid.UUID,
                              keys: list[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
        """Move all of a customer's identities (or only ``keys`` among them); returns those moved."""
        query = update(identities).where(identities.c.customer_id == from_customer)
        if keys is not None:
            if not keys:
                return []
            query = query.where(tuple_(identities.c.platform, identities.c.external_id).in_(keys))
        rows = await self.session.execute(
            query.values(customer_id=to_customer)
            .returning(identities.c.platform, identities.c.external_id, identities.c.handle,
                       identities.c.verified))
        return sorted((dict(row._mapping) for row in rows), key=lambda i: (i["platform"], i["external_id"]))

    async def same_handle_elsewhere(self, handle: str, platform: str, customer_id: uuid.UUID,
                                    limit: int) -> list[dict[str, Any]]:
        """Identities on other platforms whose handle is ``handle`` (lowercased, without leading @)."""
        rows = await self.session.execute(
            select(identities.c.customer_id, identities.c.platform, identities.c.external_id,
                   identities.c.handle)
            .where(func.lower(func.ltrim(identities.c.handle, "@")) == handle, identities.c.handle.is_not(None),
                   identities.c.platform != platform, identities.c.customer_id != customer_id)
            .order_by(identities.c.created_at).limit(limit))
        return [dict(row._mapping) for row in rows]

    async def claimed_address(self, address: str, customer_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
        """Identities another customer only claimed whose id is the address ``address`` (lowercased)."""
        rows = await self.session.execute(
            select(identities.c.customer_id, identities.c.platform, identities.c.external_id,
                   identities.c.handle)
            .where(func.lower(identities.c.external_id) == address, identities.c.verified.is_(False),
                   identities.c.customer_id != customer_id)
            .order_by(identities.c.created_at).limit(limit))
        return [dict(row._mapping) for row in rows]

    async def customer(self, customer_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(select(customers).where(customers.c.id == customer_id))).first()
        return dict(row._mapping) if row else None

    async def identities_of(self, customer_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(*_IDENTITY_COLUMNS)
            .where(identities.c.customer_id == customer_id)
            .order_by(identities.c.created_at, identities.c.platform, identities.c.external_id))
        return [dict(row._mapping) for row in rows]

    async def lock_customers(self, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        """``SELECT ... FOR UPDATE`` in id order (so two merges of the same pair never deadlock)."""
        rows = await self.session.execute(
            select(customers).where(customers.c.id.in_(customer_ids))
            .order_by(customers.c.id).with_for_update())
        return {row.id: dict(row._mapping) for row in rows}

    async def set_merged_into(self, customer_id: uuid.UUID, survivor_id: uuid.UUID | None) -> None:
        await self.session.execute(
            update(customers).where(customers.c.id == customer_id).values(merged_into=survivor_id))

    async def next_sequence(self, customer_id: uuid.UUID) -> int:
        """The sequence number of the customer's next event."""
        return (await self.session.execute(  # type: ignore[no-any-return]
            update(customers).where(customers.c.id == customer_id)
            .values(sequence=customers.c.sequence + 1).returning(customers.c.sequence)
        )).scalar_one()

    async def survivor_of(self, customer_id: uuid.UUID) -> uuid.UUID | None:
        """The customer not merged into anyone that ``customer_id`` was merged into (itself if none)."""
        return (await self.session.execute(select(_root(customer_id)))).scalar_one_or_none()

    async def history_ids(self, customer_id: uuid.UUID) -> list[uuid.UUID]:
        history = _history(customer_id)
        return list((await self.session.execute(select(history.c.id))).scalars())

    async def conversations_of(self, customer_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
        """The conversations of a customer's history (theirs and those of customers merged into them)."""
        rows = await self.session.execute(
            select(conversations.c.id, conversations.c.customer_id, conversations.c.account,
                   conversations.c.channel, conversations.c.status, conversations.c.opened_at,
                   conversations.c.last_message_at, conversations.c.resolved_at)
            .where(_in_history(conversations.c.customer_id, customer_id))
            .order_by(conversations.c.last_message_at.desc(), conversations.c.id).limit(limit))
        return [dict(row._mapping) for row in rows]

    # -- merges, suggestions, audit -------------------------------------------------------------

    async def insert_merge(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(merges).values(**values))

    async def merge(self, merge_id: uuid.UUID, *, lock: bool = False) -> dict[str, Any] | None:
        query = select(merges).where(merges.c.id == merge_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return dict(row._mapping) if row else None

    async def active_merge_of(self, merged_id: uuid.UUID) -> dict[str, Any] | None:
        """The merge (not undone) that folded ``merged_id`` into its survivor."""
        row = (await self.session.execute(
            select(merges).where(merges.c.merged_id == merged_id, merges.c.undone_at.is_(None))
            .order_by(merges.c.at.desc()).limit(1))).first()
        return dict(row._mapping) if row else None

    async def merges_of(self, customer_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(merges).where(or_(merges.c.survivor_id == customer_id, merges.c.merged_id == customer_id))
            .order_by(merges.c.at.desc(), merges.c.id).limit(limit))
        return [dict(row._mapping) for row in rows]

    async def mark_undone(self, merge_id: uuid.UUID, actor: str, at: datetime) -> None:
        await self.session.execute(
            update(merges).where(merges.c.id == merge_id).values(undone_at=at, undone_by=actor))

    async def insert_suggestion(self, values: dict[str, Any]) -> bool:
        """False when the pair already has a pending suggestion."""
        inserted = (await self.session.execute(
            insert(merge_suggestions).values(**values)
            .on_conflict_do_nothing().returning(merge_suggestions.c.id)
        )).scalar_one_or_none()
        return inserted is not None

    async def suggestion(self, suggestion_id: uuid.UUID, *, lock: bool = False) -> dict[str, Any] | None:
        query = select(merge_suggestions).where(merge_suggestions.c.id == suggestion_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return dict(row._mapping) if row else None

    async def suggestions_between(self, one: uuid.UUID, other: uuid.UUID,
                                  statuses: tuple[str, ...]) -> list[dict[str, Any]]:
        """Suggestions about the unordered pair, oldest first."""
        rows = await self.session.execute(
            select(merge_suggestions)
            .where(or_(and_(merge_suggestions.c.customer_id == one, merge_suggestions.c.other_customer_id == other),
                       and_(merge_suggestions.c.customer_id == other, merge_suggestions.c.other_customer_id == one)),
                   merge_suggestions.c.status.in_(statuses))
            .order_by(merge_suggestions.c.created_at))
        return [dict(row._mapping) for row in rows]

    async def suggestions_of(self, customer_id: uuid.UUID, statuses: tuple[str, ...],
                             limit: int) -> list[dict[str, Any]]:
        """Suggestions about a customer's history (them, and the customers merged into them)."""
        history = _history(customer_id)
        ids = select(history.c.id)
        rows = await self.session.execute(
            select(merge_suggestions)
            .where(or_(merge_suggestions.c.customer_id.in_(ids), merge_suggestions.c.other_customer_id.in_(ids)),
                   merge_suggestions.c.status.in_(statuses))
            .order_by(merge_suggestions.c.created_at.desc(), merge_suggestions.c.id).limit(limit))
        return [dict(row._mapping) for row in rows]

    async def decide_suggestion(self, suggestion_id: uuid.UUID, status: str, actor: str, at: datetime,
                                merge_id: uuid.UUID | None = None) -> None:
        await self.session.execute(
            update(merge_suggestions).where(merge_suggestions.c.id == suggestion_id)
            .values(status=status, decided_by=actor, decided_at=at, merge_id=merge_id))

    async def audit(self, customer_id: uuid.UUID, action: str, actor: str, detail: dict[str, Any],
                    at: datetime) -> None:
        await self.session.execute(insert(customer_audit).values(
            customer_id=customer_id, action=action, actor=actor, detail=detail, at=at))

    async def audit_of(self, customer_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
        """The customer's audit trail, newest first (rows of one transaction share a time: the later
        written comes first)."""
        rows = await self.session.execute(
            select(customer_audit).where(customer_audit.c.customer_id == customer_id)
            .order_by(customer_audit.c.at.desc(), customer_audit.c.id.desc()).limit(limit))
        return [dict(row._mapping) for row in rows]

    async def set_blocked(self, customer_id: uuid.UUID, blocked: bool, reason: str | None) -> bool:
        updated = (await self.session.execute(
            update(customers).where(customers.c.id == customer_id)
            .values(blocked=blocked, blocked_reason=reason).returning(customers.c.id)
        )).scalar_one_or_none()
        return updated is not None

    # -- conversations --------------------------------------------------------------------------

    async def conversation(self, conversation_id: uuid.UUID, *, lock: bool = False) -> ConversationRow | None:
        query = select(*_CONVERSATION_COLUMNS).where(conversations.c.id == conversation_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return ConversationRow(*row) if row else None

    async def conversation_of_message(self, channel: str, external_id: str) -> ConversationRow | None:
        row = (await self.session.execute(
            select(*_CONVERSATION_COLUMNS)
            .join(messages, messages.c.conversation_id == conversations.c.id)
            .where(messages.c.channel == channel, messages.c.external_id == external_id)
        )).first()
        return ConversationRow(*row) if row else None

    async def open_conversation(self, customer_id: uuid.UUID, account: str) -> ConversationRow | None:
        """The customer's unresolved (open or snoozed) conversation on the account: in their history (a
        customer merged into them may have brought one; at most one per customer, so after a merge there
        can be two: the latest)."""
        row = (await self.session.execute(
            select(*_CONVERSATION_COLUMNS).where(_in_history(conversations.c.customer_id, customer_id),
                                                 conversations.c.account == account,
                                                 conversations.c.status != "resolved")
            .order_by(conversations.c.last_message_at.desc()).limit(1)
        )).first()
        return ConversationRow(*row) if row else None

    async def latest_resolved(self, customer_id: uuid.UUID, account: str) -> ConversationRow | None:
        row = (await self.session.execute(
            select(*_CONVERSATION_COLUMNS)
            .where(_in_history(conversations.c.customer_id, customer_id), conversations.c.account == account,
                   conversations.c.status == "resolved")
            .order_by(conversations.c.resolved_at.desc()).limit(1)
        )).first()
        return ConversationRow(*row) if row else None

    async def create_conversation(self, customer_id: uuid.UUID, account: str, channel: str,
                                  at: datetime) -> uuid.UUID | None:
        """None when a concurrent delivery opened the customer's conversation on this account first."""
        return (await self.session.execute(  # type: ignore[no-any-return]
            insert(conversations)
            .values(id=uuid.uuid4(), customer_id=customer_id, account=account, channel=channel,
                    status="open", opened_at=at, last_message_at=at)
            .on_conflict_do_nothing(index_elements=["customer_id", "account"], index_where=UNRESOLVED)
            .returning(conversations.c.id)
        )).scalar_one_or_none()

    async def set_status(self, conversation_id: uuid.UUID, status: str, at: datetime, *,
                         snoozed_until: datetime | None = None) -> int | None:
        """Change the status (or a snooze's end) if it differs; returns the new sequence number, or
        None if unchanged."""
        until = snoozed_until if status == "snoozed" else None
        return (await self.session.execute(  # type: ignore[no-any-return]
            update(conversations)
            .where(conversations.c.id == conversation_id,
                   (conversations.c.status != status)
                   | conversations.c.snoozed_until.is_distinct_from(until))
            .values(status=status, resolved_at=at if status == "resolved" else None,
                    snoozed_until=until, status_sequence=conversations.c.status_sequence + 1)
            .returning(conversations.c.status_sequence)
        )).scalar_one_or_none()

    async def snoozes_due(self, now: datetime, limit: int) -> list[ConversationRow]:
        """Snoozed conversations whose time has come, locked; rows another waker holds are skipped."""
        rows = (await self.session.execute(
            select(*_CONVERSATION_COLUMNS)
            .where(conversations.c.status == "snoozed", conversations.c.snoozed_until <= now)
            .order_by(conversations.c.snoozed_until).limit(limit)
            .with_for_update(skip_locked=True)
        )).all()
        return [ConversationRow(*row) for row in rows]

    async def touch_conversation(self, conversation_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id, conversations.c.last_message_at < at)
            .values(last_message_at=at))

    # -- raw archive ----------------------------------------------------------------------------

    async def archive(self, delivery_id: uuid.UUID, channel: str, content_type: str, body: bytes,
                      at: datetime) -> None:
        await self.session.execute(insert(deliveries).values(
            id=delivery_id, channel=channel, received_at=at, content_type=content_type, body=body,
            outcome="pending"))

    async def mark_delivery(self, delivery_id: uuid.UUID, outcome: str, detail: str | None,
                            at: datetime) -> None:
        await self.session.execute(
            update(deliveries).where(deliveries.c.id == delivery_id)
            .values(outcome=outcome, detail=detail, processed_at=at))

    async def archived(self, *, channel: str | None, since: datetime | None, until: datetime | None,
                       outcomes: tuple[str, ...] | None, after: uuid.UUID | None,
                       limit: int) -> list[dict[str, Any]]:
        query = select(deliveries).order_by(deliveries.c.received_at, deliveries.c.id).limit(limit)
        if channel:
            query = query.where(deliveries.c.channel == channel)
        if since:
            query = query.where(deliveries.c.received_at >= since)
        if until:
            query = query.where(deliveries.c.received_at < until)
        if outcomes:
            query = query.where(deliveries.c.outcome.in_(outcomes))
        if after is not None:
            cursor = select(deliveries.c.received_at).where(deliveries.c.id == after).scalar_subquery()
            query = query.where(or_(deliveries.c.received_at > cursor,
                                    and_(deliveries.c.received_at == cursor, deliveries.c.id > after)))
        return [dict(row._mapping) for row in await self.session.execute(query)]

    # -- outbound -------------------------------------------------------------------------------

    async def enqueue(self, message_id: uuid.UUID, account: str, at: datetime) -> None:
        await self.session.execute(insert(outbound_queue).values(
            message_id=message_id, account=account, next_attempt_at=at))

    async def lease_due(self, now: datetime, lease_until: datetime, limit: int) -> list[dict[str, Any]]:
        """Take up to ``limit`` due sends no other worker holds, skipping paused accounts."""
        paused = select(send_pauses.c.account).where(send_pauses.c.until > now)
        due = (select(outbound_queue.c.message_id)
               .where(outbound_queue.c.next_attempt_at <= now,
                      or_(outbound_queue.c.leased_until.is_(None), outbound_queue.c.leased_until < now),
                      outbound_queue.c.account.not_in(paused))
               .order_by(outbound_queue.c.next_attempt_at).limit(limit)
               .with_for_update(skip_locked=True))
        rows = await self.session.execute(
            update(outbound_queue).where(outbound_queue.c.message_id.in_(due))
            .values(leased_until=lease_until, attempts=outbound_queue.c.attempts + 1)
            .returning(outbound_queue.c.message_id, outbound_queue.c.attempts))
        return [dict(row._mapping) for row in rows]

    async def reschedule(self, message_id: uuid.UUID, at: datetime, error: str, *,
                         refund_attempt: bool) -> None:
        """Try again at ``at``; a rate limit gives the attempt back (the platform never looked at it)."""
        attempts = outbound_queue.c.attempts - (1 if refund_attempt else 0)
        await self.session.execute(
            update(outbound_queue).where(outbound_queue.c.message_id == message_id)
            .values(next_attempt_at=at, leased_until=None, last_error=error, attempts=attempts))

    async def unqueue(self, message_id: uuid.UUID) -> None:
        await self.session.execute(delete(outbound_queue).where(outbound_queue.c.message_id == message_id))

    async def pause(self, account: str, until: datetime) -> None:
        statement = insert(send_pauses).values(account=account, until=until)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=["account"], set_={"until": func.greatest(send_pauses.c.until, until)}))

    async def claim_private_reply(self, channel: str, comment_id: str, message_id: uuid.UUID) -> bool:
        """Facebook and Instagram allow one private reply per comment: the first claim wins."""
        claimed = (await self.session.execute(
            insert(private_replies).values(channel=channel, comment_id=comment_id, message_id=message_id)
            .on_conflict_do_nothing().returning(private_replies.c.message_id)
        )).scalar_one_or_none()
        return claimed is not None

    async def private_reply_used(self, channel: str, comment_id: str) -> bool:
        found = (await self.session.execute(
            select(private_replies.c.message_id)
            .where(private_replies.c.channel == channel, private_replies.c.comment_id == comment_id)
        )).first()
        return found is not None

    # -- live chat ------------------------------------------------------------------------------

    async def create_chat_session(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(chat_sessions).values(**values))

    async def chat_session(self, session_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(
            select(chat_sessions).where(chat_sessions.c.id == session_id))).first()
        return dict(row._mapping) if row else None

    async def chat_messages(self, customer_id: uuid.UUID, account: str, after: datetime | None,
                            limit: int) -> list[dict[str, Any]]:
        query = (select(messages.c.id, messages.c.external_id, messages.c.direction, messages.c.text,
                        messages.c.sent_at, messages.c.received_at, messages.c.delivery_status)
                 .where(_in_history(messages.c.customer_id, customer_id), messages.c.account == account,
                        messages.c.delivery_status != "pending")
                 .order_by(messages.c.received_at, messages.c.id).limit(limit))
        if after is not None:
            query = query.where(messages.c.received_at > after)
        return [dict(row._mapping) for row in await self.session.execute(query)]

    async def chat_history(self, customer_id: uuid.UUID, account: str, *, after: datetime | None,
                           after_id: uuid.UUID | None, limit: int) -> list[dict[str, Any]]:
        """A chat visitor's messages past a cursor, oldest first, and every reply not fetched yet.

        The cursor is a time, or a message (its time, then its id for ties). A reply still "sent" comes back
        wherever it sorts: it became visible only when the sender got to it, maybe after the widget had
        already fetched a later message of the visitor's.
        """
        query = (select(messages.c.id, messages.c.conversation_id, messages.c.customer_id,
                        messages.c.external_id, messages.c.direction, messages.c.text, messages.c.sent_at,
                        messages.c.received_at, messages.c.delivery_status)
                 .where(_in_history(messages.c.customer_id, customer_id), messages.c.account == account,
                        messages.c.delivery_status.not_in(("pending", "failed")))
                 .order_by(messages.c.received_at, messages.c.id).limit(limit))
        if after is not None:
            newer = messages.c.received_at > after
            if after_id is not None:
                newer = or_(newer, and_(messages.c.received_at == after, messages.c.id > after_id))
            unfetched = and_(messages.c.direction == "outbound", messages.c.delivery_status == "sent")
            query = query.where(or_(newer, unfetched))
        return [dict(row._mapping) for row in await self.session.execute(query)]

    async def chat_replies_until(self, customer_id: uuid.UUID, account: str,
                                 until: datetime) -> list[dict[str, Any]]:
        """Replies the widget has been shown (sent or delivered) up to ``until``: what a read receipt covers."""
        rows = await self.session.execute(
            select(messages.c.id, messages.c.conversation_id, messages.c.customer_id, messages.c.external_id)
            .where(_in_history(messages.c.customer_id, customer_id), messages.c.account == account,
                   messages.c.direction == "outbound", messages.c.delivery_status.in_(("sent", "delivered")),
                   messages.c.sent_at <= until))
        return [dict(row._mapping) for row in rows]
