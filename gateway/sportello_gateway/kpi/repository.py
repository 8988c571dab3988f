"""All of the KPI aggregator's SQL: order-independent input upserts, the fact and bucket
statements (sql.py), agents' presence, the rebuild from the read model, and index-backed report
reads."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    Integer,
    RowMapping,
    case,
    cast,
    delete,
    extract,
    func,
    literal_column,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_gateway.kpi import sql
from sportello_gateway.kpi.tables import (
    kpi_agent_presence,
    kpi_agents,
    kpi_assignments,
    kpi_conversations,
    kpi_daily,
    kpi_hourly,
    kpi_messages,
    kpi_status_changes,
)

GroupBy = Literal["channel", "team", "agent", "hour", "day"]
SlaKindColumn = Literal["first_response", "resolution"]


@dataclass(frozen=True)
class Slice:
    """Which buckets a report reads: hours starting in [start, end), optionally one dimension."""

    start: datetime
    end: datetime
    team: str | None = None
    agent: str | None = None
    channel: str | None = None


class KpiRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- inputs (bus handlers, CSAT) ------------------------------------------------------------

    async def lock_conversation(self, conversation_id: uuid.UUID,
                                customer_id: uuid.UUID | None) -> None:
        """Create the conversation's fact row if needed and lock it: one conversation's events
        come on several topics handled concurrently, and subtract-recompute-add must not
        interleave."""
        statement = insert(kpi_conversations).values(id=conversation_id, customer_id=customer_id)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=[kpi_conversations.c.id],
            set_={"customer_id": func.coalesce(kpi_conversations.c.customer_id,
                                               statement.excluded.customer_id)},
        ))

    async def upsert_message(self, values: dict[str, Any]) -> None:
        """message.received / reply.requested: the message's own columns, whatever came first."""
        statement = insert(kpi_messages).values(known=True, **values)
        own = [name for name in values if name not in ("id", "conversation_id")]
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=[kpi_messages.c.id],
            set_={"known": True, **{name: statement.excluded[name] for name in own}},
        ))

    async def upsert_delivery(self, message_id: uuid.UUID, conversation_id: uuid.UUID,
                              dispatched_at: datetime | None, failed: bool) -> None:
        """The earliest moment it went out (LEAST skips NULLs), and failed once it failed (ingest
        never moves a failed message on)."""
        statement = insert(kpi_messages).values(id=message_id, conversation_id=conversation_id,
                                                dispatched_at=dispatched_at, failed=failed)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=[kpi_messages.c.id],
            set_={"dispatched_at": func.least(kpi_messages.c.dispatched_at,
                                              statement.excluded.dispatched_at),
                  "failed": kpi_messages.c.failed | statement.excluded.failed},
        ))

    async def upsert_sentiment(self, message_id: uuid.UUID, conversation_id: uuid.UUID,
                               label: str) -> None:
        statement = insert(kpi_messages).values(id=message_id, conversation_id=conversation_id,
                                                sentiment_label=label)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=[kpi_messages.c.id],
            set_={"sentiment_label": statement.excluded.sentiment_label},
        ))

    async def add_assignment(self, values: dict[str, Any]) -> None:
        """One row per sequence number: a redelivery or a stale event changes nothing."""
        await self.session.execute(
            insert(kpi_assignments).values(**values).on_conflict_do_nothing())

    async def add_status_change(self, values: dict[str, Any]) -> None:
        await self.session.execute(
            insert(kpi_status_changes).values(**values).on_conflict_do_nothing())

    async def lock_agent(self, values: dict[str, Any]) -> None:
        """Create the agent's latest-change row if needed, keep it at the highest sequence, and
        lock it (ON CONFLICT DO UPDATE locks the row even when its WHERE keeps it as it is): one
        agent's subtract-insert-add must not interleave."""
        statement = insert(kpi_agents).values(**values)
        own = [name for name in values if name != "agent_id"]
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=[kpi_agents.c.agent_id],
            set_={name: statement.excluded[name] for name in own},
            where=kpi_agents.c.sequence < statement.excluded.sequence,
        ))

    async def presence_known(self, agent_id: uuid.UUID, sequence: int) -> bool:
        p = kpi_agent_presence.c
        query = select(p.sequence).where(p.agent_id == agent_id, p.sequence == sequence)
        return (await self.session.execute(query)).first() is not None

    async def presence_before(self, agent_id: uuid.UUID, sequence: int) -> int | None:
        """The sequence of the agent's change just before this one (whose interval it splits)."""
        p = kpi_agent_presence.c
        query = select(func.max(p.sequence)).where(p.agent_id == agent_id, p.sequence < sequence)
        return (await self.session.execute(query)).scalar()

    async def add_presence(self, values: dict[str, Any]) -> None:
        await self.session.execute(
            insert(kpi_agent_presence).values(**values).on_conflict_do_nothing())

    async def add_presence_contributions(self, agent_id: uuid.UUID | None, low: int, high: int,
                                         sign: int) -> None:
        """Add (sign +1) or take away (-1) the online intervals of the agent's changes from
        sequence ``low`` to ``high``; agent None: every interval of every agent (the rebuild, on
        emptied bucket tables; low and high are ignored)."""
        if agent_id is None:
            await self.session.execute(text(sql.presence_contributions(ordered=False)),
                                       {"sign": sign})
            return
        await self.session.execute(text(sql.presence_contributions(*sql.AGENT_RANGE)),
                                   {"sign": sign, "agent": agent_id, "low": low, "high": high})

    async def refresh_latest_presence(self) -> None:
        await self.session.execute(text(sql.LATEST_PRESENCE))

    async def apply_sla(self, conversation_id: uuid.UUID, kind: SlaKindColumn, sequence: int,
                        deadline: datetime) -> None:
        """Keep the deadline of the newest (highest-sequence) SLA state of this kind."""
        deadline_column = kpi_conversations.c[f"sla_{kind}_deadline"]
        sequence_column = kpi_conversations.c[f"sla_{kind}_sequence"]
        await self.session.execute(
            update(kpi_conversations)
            .where(kpi_conversations.c.id == conversation_id,
                   sequence_column.is_(None) | (sequence_column < sequence))
            .values({deadline_column: deadline, sequence_column: sequence})
        )

    async def sla_state(self, conversation_id: uuid.UUID, kind: SlaKindColumn
                        ) -> tuple[datetime | None, int | None]:
        """The stored deadline of this kind and the sequence that set it."""
        row = (await self.session.execute(
            select(kpi_conversations.c[f"sla_{kind}_deadline"],
                   kpi_conversations.c[f"sla_{kind}_sequence"])
            .where(kpi_conversations.c.id == conversation_id)
        )).one_or_none()
        return (row[0], row[1]) if row is not None else (None, None)

    async def set_csat(self, conversation_id: uuid.UUID, score: int, comment: str | None,
                       at: datetime) -> None:
        await self.session.execute(
            update(kpi_conversations).where(kpi_conversations.c.id == conversation_id)
            .values(csat_score=score, csat_comment=comment, csat_at=at)
        )

    async def conversation_known(self, conversation_id: uuid.UUID) -> bool:
        """Whether the conversation exists here or in the read model (the KPI consumer may lag
        behind the read model, or the other way round)."""
        query = text(
            "SELECT EXISTS (SELECT 1 FROM gateway.kpi_conversations WHERE id = :id) "
            "OR EXISTS (SELECT 1 FROM gateway.conversations WHERE id = :id)"
        )
        return bool((await self.session.execute(query, {"id": conversation_id})).scalar())

    # -- facts and buckets ----------------------------------------------------------------------

    async def add_contributions(self, conversation_ids: Sequence[uuid.UUID] | None,
                                sign: int) -> None:
        """Add (sign +1) or take away (-1) these conversations' contributions to the buckets;
        None means every conversation (the rebuild, on emptied bucket tables)."""
        if conversation_ids is None:
            statement = sql.contributions(sql.ALL, ordered=False)
            await self.session.execute(text(statement), {"sign": sign})
            return
        await self.session.execute(text(sql.contributions(sql.SOME)),
                                   {"sign": sign, "ids": list(conversation_ids)})

    async def use_memory_for_bulk_work(self) -> None:
        """The rebuild groups millions of rows: let this transaction sort and hash in memory
        rather than on disk (SET LOCAL ends with the transaction)."""
        await self.session.execute(text("SET LOCAL work_mem = '256MB'"))

    async def recompute_facts(self, conversation_ids: Sequence[uuid.UUID] | None) -> None:
        scope = sql.ALL if conversation_ids is None else sql.SOME
        params = {} if conversation_ids is None else {"ids": list(conversation_ids)}
        await self.session.execute(text(sql.recompute(scope)), params)

    async def clear_buckets(self) -> None:
        await self.session.execute(delete(kpi_hourly))
        await self.session.execute(delete(kpi_daily))

    async def drop_empty_buckets(self) -> None:
        await self.session.execute(delete(kpi_hourly).where(kpi_hourly.c.value == 0))
        await self.session.execute(delete(kpi_daily).where(kpi_daily.c.value == 0))

    # -- rebuild from the read model ------------------------------------------------------------

    async def merge_read_model(self, since: datetime | None) -> None:
        """Copy what the read model knows into the inputs, set-based. The read model keeps only
        the latest assignment and status, so history the KPI inputs already hold (reassignments,
        reopens) is kept, never replaced; a queued state is skipped (the read model does not say
        when it was queued)."""
        for statement in sql.MERGE_READ_MODEL:
            await self.session.execute(text(statement), {"since": since})

    async def conversations_touched_since(self, since: datetime) -> list[uuid.UUID]:
        query = text("""
            SELECT id FROM gateway.kpi_conversations
            WHERE opened_at >= :since OR resolved_at >= :since OR first_response_at >= :since
            UNION
            SELECT c.id FROM gateway.conversations c
            WHERE c.last_message_at >= :since OR c.resolved_at >= :since
               OR c.assigned_at >= :since
        """)
        return list((await self.session.execute(query, {"since": since})).scalars())

    # -- reads (HTTP) ---------------------------------------------------------------------------

    def _buckets(self, where: Slice, group_by: GroupBy | None, *, before_start: bool = False,
                 measures: tuple[str, ...] | None = None) -> Any:
        """The bucket rows a report sums, as one subquery (t, channel, team, agent_id, measure,
        bin, value): whole UTC days from the smallest daily rollup that has the dimensions the
        report filters or groups by, the hours at either edge of the period from kpi_hourly.
        ``before_start``: every bucket before the period (the backlog at its start)."""
        low = None if before_start else where.start
        high = where.start if before_start else where.end
        grain = _grain(where, group_by)
        if grain is None:
            return self._hourly(where, low, high, measures).subquery("buckets")
        first_day = _day_ceiling(low) if low is not None else None
        last_day = _day_floor(high)
        if first_day is not None and first_day >= last_day:
            return self._hourly(where, low, high, measures).subquery("buckets")
        parts = [self._daily(where, grain, first_day, last_day, measures)]
        if low is not None and first_day is not None and low < first_day:
            parts.append(self._hourly(where, low, first_day, measures))
        if last_day < high:
            parts.append(self._hourly(where, last_day, high, measures))
        return union_all(*parts).subquery("buckets")

    def _hourly(self, where: Slice, low: datetime | None, high: datetime,
                measures: tuple[str, ...] | None) -> Any:
        k = kpi_hourly.c
        # Volume counts carry their UTC hour of the day as their bin, as in the daily rollup.
        hour_of_day = cast(extract("hour", func.timezone(literal_column("'UTC'"), k.hour)),
                           Integer)
        bin_ = case((k.measure.in_(sql.VOLUME_MEASURES), hour_of_day), else_=k.bin)
        query = select(k.hour.label("t"), k.channel, k.team, k.agent_id, k.measure,
                       bin_.label("bin"), k.value).where(k.hour < high)
        if low is not None:
            query = query.where(k.hour >= low)
        if where.agent is not None:
            query = query.where(k.agent_id == where.agent)
        return self._filtered(query, k, where, measures)

    def _daily(self, where: Slice, grain: str, low: datetime | None, high: datetime,
               measures: tuple[str, ...] | None) -> Any:
        d = kpi_daily.c
        query = select(d.day.label("t"), d.channel, d.team, d.agent_id, d.measure, d.bin,
                       d.value).where(d.grain == grain, d.day < high)
        if low is not None:
            query = query.where(d.day >= low)
        if where.agent is not None:
            query = query.where(d.agent_id == where.agent)
        return self._filtered(query, d, where, measures)

    @staticmethod
    def _filtered(query: Any, columns: Any, where: Slice,
                  measures: tuple[str, ...] | None) -> Any:
        if where.team is not None:
            query = query.where(columns.team == where.team)
        if where.channel is not None:
            query = query.where(columns.channel == where.channel)
        if measures is not None:
            query = query.where(columns.measure.in_(measures))
        return query

    async def sums(self, where: Slice, group_by: GroupBy | None) -> Sequence[RowMapping]:
        """Summed bucket values per (group, measure, bin); group is '' without group_by."""
        b = self._buckets(where, group_by)
        key = _group_key(b, group_by)
        query = (
            select(key.label("key"), b.c.measure, b.c.bin, func.sum(b.c.value).label("value"))
            .group_by(*_grouping(b, group_by), b.c.measure, b.c.bin)
            # A bucket a conversation moved out of stays as a zero row; it is no group.
            .having(func.sum(b.c.value) != 0)
        )
        return (await self.session.execute(query)).mappings().all()

    async def running_before(self, where: Slice, group_by: GroupBy | None
                             ) -> dict[str, dict[str, float]]:
        """The running figures at the period's start (unresolved and snoozed conversations):
        every change of theirs before it, summed per dimension group, then per measure (time
        groups share the whole slice's)."""
        by = None if group_by in ("hour", "day") else group_by
        b = self._buckets(where, by, before_start=True, measures=sql.RUNNING_MEASURES)
        query = (
            select(_group_key(b, by).label("key"), b.c.measure, func.sum(b.c.value))
            .group_by(*_grouping(b, by), b.c.measure)
            .having(func.sum(b.c.value) != 0)
        )
        found: dict[str, dict[str, float]] = {}
        for key, measure, total in (await self.session.execute(query)).all():
            found.setdefault(key, {})[measure] = float(total)
        return found

    async def running_presence(self, where: Slice, group_by: GroupBy | None,
                               now: datetime) -> Sequence[RowMapping]:
        """The still-running online intervals up to ``now``, in the shape of :meth:`sums`."""
        params = {"start": where.start, "end": where.end, "now": now, "team": where.team,
                  "agent": where.agent, "channel": where.channel}
        result = await self.session.execute(text(sql.running_presence(group_by)), params)
        return result.mappings().all()

    async def volume(self, where: Slice, by: Literal["channel", "hour_of_day"]
                     ) -> Sequence[RowMapping]:
        """Conversations opened and messages per channel, or per UTC hour of the day."""
        b = self._buckets(where, "channel" if by == "channel" else None,
                          measures=sql.VOLUME_MEASURES)
        key = b.c.channel if by == "channel" else b.c.bin
        query = (
            select(key.label("key"), b.c.measure, func.sum(b.c.value).label("value"))
            .group_by(key, b.c.measure)
            .having(func.sum(b.c.value) != 0)
            .order_by(key)
        )
        return (await self.session.execute(query)).mappings().all()

    async def stream_facts(self, where: Slice) -> AsyncIterator[RowMapping]:
        """The conversations opened in [start, end), oldest first, read through a server-side
        cursor so an export of any size never sits in memory."""
        c = kpi_conversations.c
        query = select(kpi_conversations).where(c.opened_at >= where.start,
                                                c.opened_at < where.end)
        if where.team is not None:
            query = query.where(c.team == where.team)
        if where.agent is not None:
            query = query.where(c.agent_id == uuid.UUID(where.agent))
        if where.channel is not None:
            query = query.where(c.channel == where.channel)
        result = await self.session.stream(
            query.order_by(c.opened_at, c.id).execution_options(yield_per=500))
        async for row in result.mappings():
            yield row


def _grouping(buckets: Any, group_by: GroupBy | None) -> list[Any]:
    # PostgreSQL refuses a constant in GROUP BY: the ungrouped report groups by nothing more.
    return [] if group_by is None else [_group_key(buckets, group_by)]


def _group_key(buckets: Any, group_by: GroupBy | None) -> Any:
    b = buckets.c
    if group_by is None:
        return literal_column("''")
    utc = func.timezone(literal_column("'UTC'"), b.t)
    return {
        "channel": b.channel,
        "team": b.team,
        "agent": b.agent_id,
        # Literal SQL, not bound parameters: GROUP BY must repeat the very same expression.
        "hour": func.to_char(utc, literal_column("""'YYYY-MM-DD"T"HH24:00:00"Z"'""")),
        "day": func.to_char(utc, literal_column("'YYYY-MM-DD'")),
    }[group_by]


def _grain(where: Slice, group_by: GroupBy | None) -> str | None:
    """The daily rollup that keeps the dimensions the report needs; None: only kpi_hourly has
    them (hours, or an agent together with a channel or a team)."""
    channel = where.channel is not None or group_by == "channel"
    team = where.team is not None or group_by == "team"
    agent = where.agent is not None or group_by == "agent"
    if group_by == "hour" or (agent and (channel or team)):
        return None
    if agent:
        return "agent"
    if channel and team:
        return "channel_team"
    return "channel" if channel else "team" if team else "all"


def _day_floor(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)


def _day_ceiling(moment: datetime) -> datetime:
    floor = _day_floor(moment)
    return floor if floor == moment else floor + timedelta(days=1)
