"""Conversations' SQL: the queue, owners, and the timers of re-assignment."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Interval,
    any_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_assignment.policy import SHARED_CLASS, Policy, Rules
from sportello_assignment.repository.agents import Agent
from sportello_assignment.tables import conversations, teams

c = conversations.c
_COLUMNS = (c.id, c.customer_id, c.status, c.channel, c.account, c.language, c.topic, c.team,
            c.agent_id, c.priority, c.band_rank, c.sla_deadline, c.queue_deadline, c.sequence,
            c.status_sequence,
            c.queued_at, c.assigned_at, c.reserved_for, c.reserved_until, c.widen_at, c.widened,
            c.avoid_agent_id, c.reply_due_at, c.escalated_at, c.resolved_at, c.handoff_note,
            c.last_inbound_at)
# Ours' queue class (policy.queue_class): urgent, then high, then normal and low together. The
# constant is inlined (not a bound parameter) so the planner matches the expression index.
QUEUE_CLASS = func.greatest(c.band_rank, literal_column(str(SHARED_CLASS)))
# Ours' place in the queue: the higher class first (urgent and high strictly by band); within a
# class the soonest queue deadline (``Rules.queue_deadline``: the SLA deadline, aged, less the
# priority head start); between equal ones the higher band. Then the longest waiting.
_BY_PLACE = (QUEUE_CLASS.desc(), c.queue_deadline.asc().nulls_last(), c.band_rank.desc())
_ORDERS = {
    "priority": (*_BY_PLACE, c.queued_at, c.id),
    "fifo": (c.queued_at, c.id),
}
# An agent's own conversations awaiting their answer, in the order the queue would have served
# them (taken from the queue, they have no queued_at: the time they were assigned stands in, then
# the customer's last message, as several are often taken at the same moment).
_WORK_ORDERS = {
    "priority": (*_BY_PLACE, c.assigned_at, c.last_inbound_at, c.id),
    "fifo": (c.assigned_at, c.last_inbound_at, c.id),
}


@dataclass(frozen=True)
class Conversation:
    id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    channel: str
    account: str | None
    language: str | None
    topic: str | None
    team: str | None
    agent_id: uuid.UUID | None
    priority: float
    band_rank: int
    sla_deadline: datetime | None
    queue_deadline: datetime | None
    sequence: int
    status_sequence: int
    queued_at: datetime | None
    assigned_at: datetime | None
    reserved_for: uuid.UUID | None
    reserved_until: datetime | None
    widen_at: datetime | None
    widened: bool
    avoid_agent_id: uuid.UUID | None
    reply_due_at: datetime | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    handoff_note: str | None
    last_inbound_at: datetime | None


def queue_place(rules: Rules, sla_deadline: ColumnElement[datetime | None],
                since: ColumnElement[datetime], priority: ColumnElement[float]
                ) -> ColumnElement[datetime | None]:
    """The SQL twin of ``Rules.queue_deadline`` over columns or bound values."""
    place: ColumnElement[datetime | None] = sla_deadline
    if rules.longest_wait_s > 0:
        place = func.least(place, since + timedelta(seconds=rules.longest_wait_s))
    if rules.priority_head_start_s > 0:
        seconds = priority * rules.priority_head_start_s
        place = place - func.make_interval(0, 0, 0, 0, 0, 0, seconds, type_=Interval)
    return case((sla_deadline.is_(None), None), else_=place)


def due_in_queue(rules: Rules, now: datetime) -> ColumnElement[datetime | None]:
    """The queue deadline of a conversation (re)entering the queue now, from its stored SLA
    deadline and priority."""
    return queue_place(rules, c.sla_deadline, literal(now, c.queued_at.type), c.priority)


def kept_in_queue(rules: Rules, now: datetime) -> ColumnElement[datetime | None]:
    """The queue deadline of a conversation taken from an agent: the one it had (the customer has
    been waiting all along, so they keep their place), else as ``due_in_queue``."""
    return func.coalesce(c.queue_deadline, due_in_queue(rules, now))


def due_with_new_priority(rules: Rules, deadline: datetime | None,
                          priority: float) -> ColumnElement[datetime | None]:
    """The queue deadline after the SLA deadline or the priority changed (to these values, set
    in the same UPDATE, whose right-hand sides read the old row): for a queued conversation,
    recomputed from when it was queued; others keep theirs until they enter the queue again."""
    new = queue_place(rules, literal(deadline, c.queue_deadline.type), c.queued_at,
                      literal(priority, c.priority.type))
    return case((c.status == "queued", new), else_=c.queue_deadline)


class ConversationQueries:
    session: AsyncSession

    async def insert_conversation(self, values: dict[str, Any]) -> Conversation | None:
        """None when the conversation is already known. A concurrent insert of the same id waits
        here for the first transaction to finish, which is what stops a double assignment."""
        row = (await self.session.execute(
            insert(conversations).values(**values)
            .on_conflict_do_nothing(index_elements=["id"]).returning(*_COLUMNS)
        )).first()
        return Conversation(*tuple(row)) if row else None

    async def get_conversation(self, conversation_id: uuid.UUID, *,
                               lock: bool = False) -> Conversation | None:
        query = select(*_COLUMNS).where(c.id == conversation_id)
        row = (await self.session.execute(query.with_for_update() if lock else query)).first()
        return Conversation(*tuple(row)) if row else None

    async def update_conversation(self, conversation_id: uuid.UUID, values: dict[str, Any], *,
                                  announce: bool = False) -> Conversation:
        """Write ``values``; ``announce`` also takes the next sequence number for an event."""
        updated = await self.update_if_known(conversation_id, values, announce=announce)
        assert updated is not None, f"no conversation {conversation_id}"
        return updated

    async def update_if_known(self, conversation_id: uuid.UUID, values: dict[str, Any], *,
                              announce: bool = False) -> Conversation | None:
        """As ``update_conversation``; None when the conversation is not known here."""
        if announce:
            values = {**values, "sequence": c.sequence + 1}
        row = (await self.session.execute(
            update(conversations).where(c.id == conversation_id).values(**values)
            .returning(*_COLUMNS)
        )).first()
        return Conversation(*tuple(row)) if row else None

    async def record_inbound(self, conversation_id: uuid.UUID, sent_at: datetime,
                             values: dict[str, Any]) -> Conversation:
        """A customer message of a known conversation: ``values`` and its time (never moved back
        by a message delivered late)."""
        return await self.update_conversation(conversation_id, {
            **values, "last_inbound_at": func.greatest(c.last_inbound_at, sent_at)})

    async def previous_owner(self, customer_id: uuid.UUID,
                             excluding: uuid.UUID) -> uuid.UUID | None:
        return (await self.session.execute(
            select(c.agent_id)
            .where(c.customer_id == customer_id, c.id != excluding, c.agent_id.is_not(None))
            .order_by(c.assigned_at.desc().nulls_last(), c.id.desc()).limit(1)
        )).scalar_one_or_none()

    async def team_for_account(self, account: str | None) -> str | None:
        if account is None:
            return None
        return (await self.session.execute(
            select(teams.c.name).where(literal(account) == any_(teams.c.accounts)).order_by(teams.c.name)
            .limit(1)
        )).scalar_one_or_none()

    async def next_for(self, agent: Agent, policy: Policy,
                       known_channels: Iterable[str]) -> Conversation | None:
        """The queued conversation this agent should take next under ``policy``, locked; skips
        rows other transactions hold (they are being assigned or changed right now)."""
        # Only channels with room, as a positive list: a full agent asks nothing (a filter that
        # can never match would walk the whole queue index), and the planner can use the
        # channel index when the open channels have little waiting.
        open_channels = agent.open_channels(known_channels)
        if not open_channels:
            return None
        row = (await self.session.execute(
            select(*_COLUMNS).where(c.channel.in_(open_channels), *self._takeable_by(agent, policy))
            .order_by(*_ORDERS[policy.queue_order]).limit(1)
            .with_for_update(skip_locked=True)
        )).first()
        return Conversation(*tuple(row)) if row else None

    async def queue(self, policy: Policy, limit: int) -> list[Conversation]:
        rows = await self.session.execute(
            select(*_COLUMNS).where(c.status == "queued")
            .order_by(*_ORDERS[policy.queue_order]).limit(limit))
        return [Conversation(*tuple(row)) for row in rows]

    async def worklist(self, agent_id: uuid.UUID, policy: Policy, limit: int) -> list[Conversation]:
        rows = await self.session.execute(
            select(*_COLUMNS).where(c.status == "assigned", c.agent_id == agent_id)
            .order_by(*_WORK_ORDERS[policy.queue_order]).limit(limit))
        return [Conversation(*tuple(row)) for row in rows]

    async def escalated(self, limit: int) -> list[Conversation]:
        rows = await self.session.execute(
            select(*_COLUMNS).where(c.escalated_at.is_not(None), c.status.in_(("queued", "assigned")))
            .order_by(c.escalated_at, c.id).limit(limit))
        return [Conversation(*tuple(row)) for row in rows]

    async def owned_by(self, agent_id: uuid.UUID, limit: int) -> list[uuid.UUID]:
        rows = await self.session.execute(
            select(c.id).where(c.status == "assigned", c.agent_id == agent_id)
            .order_by(c.assigned_at, c.id).limit(limit))
        return list(rows.scalars())

    async def reply_overdue(self, now: datetime, limit: int) -> list[uuid.UUID]:
        rows = await self.session.execute(
            select(c.id).where(c.status == "assigned", c.reply_due_at <= now)
            .order_by(c.reply_due_at, c.id).limit(limit))
        return list(rows.scalars())

    async def queue_timers_due(self, now: datetime, limit: int) -> list[uuid.UUID]:
        rows = await self.session.execute(
            select(c.id).where(c.status == "queued", func.least(c.reserved_until, c.widen_at) <= now)
            .order_by(func.least(c.reserved_until, c.widen_at), c.id).limit(limit))
        return list(rows.scalars())

    @staticmethod
    def _takeable_by(agent: Agent, policy: Policy) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [c.status == "queued"]
        if policy.sticky:
            conditions.append(or_(c.reserved_for.is_(None), c.reserved_for == agent.id))
        if policy.reassign:
            conditions.append(or_(c.avoid_agent_id.is_(None), c.avoid_agent_id != agent.id))
        if not policy.skills:
            return conditions
        conditions.append(or_(c.team.is_(None), c.team == agent.team, c.widened))
        if agent.languages:
            conditions.append(or_(c.language.is_(None), c.language.in_(agent.languages), c.widened))
        if agent.topics:
            conditions.append(or_(c.topic.is_(None), c.topic.in_(agent.topics), c.widened))
        return conditions
