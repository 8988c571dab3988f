"""Engine, transactions, outbox writer and inbox check for one service schema.

The edge (an HTTP endpoint or a bus handler) opens ``Database.transaction()``; services and
repositories work inside it and never commit. Events added to ``tx.outbox`` are written in the same
transaction as the state they describe, so either both exist or neither does.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import Insert, MetaData, Table, insert, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from sportello.bus.codec import encode
from sportello.contracts import Envelope, Event
from sportello.observability.context import current_correlation_id
from sportello.settings import ServiceSettings
from sportello.topics import topic_for


def create_engine(settings: ServiceSettings) -> AsyncEngine:
    return create_async_engine(
        settings.database_url_plain(),
        pool_size=settings.database_pool_size,
        pool_pre_ping=True,
    )


@functools.cache
def _insert_into(table: Table) -> Insert:
    return insert(table)


@dataclass
class Outbox:
    session: AsyncSession
    table: Table
    source: str
    added: list[Envelope] = field(default_factory=list)

    async def add(self, event: Event, *, subject: str | None) -> Envelope:
        envelope = Envelope.wrap(
            event, source=self.source, correlation_id=current_correlation_id(), subject=subject
        )
        record = encode(envelope, topic_for(type(event)))
        # One statement object per table, parameters apart: SQLAlchemy builds its cache key once
        # instead of on every event (a measurable share of each handler's CPU).
        await self.session.execute(_insert_into(self.table), {
            "topic": record.topic, "key": record.key, "value": record.value,
            "headers": [[name, value.decode()] for name, value in record.headers]})
        self.added.append(envelope)
        return envelope


@dataclass
class Tx:
    session: AsyncSession
    outbox: Outbox


class Database:
    """One service's view of PostgreSQL: its schema's outbox and inbox, and its transactions."""

    def __init__(self, engine: AsyncEngine, metadata: MetaData, *, source: str) -> None:
        self.engine = engine
        self.schema = metadata.schema
        self.outbox_table = metadata.tables[f"{self.schema}.outbox"]
        self.inbox_table = metadata.tables[f"{self.schema}.inbox"]
        # Built once: every consumed event runs it (see _insert_into on why).
        self._claim = (pg_insert(self.inbox_table).on_conflict_do_nothing()
                       .returning(self.inbox_table.c.event_id))
        self.source = source
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        self._after_commit: list[Callable[[], None]] = []

    def on_outbox_commit(self, callback: Callable[[], None]) -> None:
        """Called after a commit that added events: the relay wakes up instead of polling."""
        self._after_commit.append(callback)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self.sessionmaker() as session, session.begin():
            tx = Tx(session=session, outbox=Outbox(session, self.outbox_table, self.source))
            yield tx
        if tx.outbox.added:
            for callback in self._after_commit:
                callback()

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Tx]:
        """A transaction for reads of several statements that must agree with each other (a
        conversation's row and its messages): REPEATABLE READ, so every statement sees the same
        snapshot, where READ COMMITTED would let a commit land between two of them. Read-only use:
        nothing it writes would be published."""
        async with self.sessionmaker() as session:
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            tx = Tx(session=session, outbox=Outbox(session, self.outbox_table, self.source))
            try:
                yield tx
            finally:
                await session.rollback()  # nothing to keep; the pool resets the isolation level

    async def claim(self, session: AsyncSession, group: str, event_id: uuid.UUID) -> bool:
        """Record the event as processed by ``group``; False when it already was (a redelivery)."""
        result = await session.execute(self._claim, {"consumer_group": group, "event_id": event_id})
        return result.first() is not None

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))


TxHandler = Callable[[Tx, Envelope], Awaitable[None]]
