"""Feeding the KPI handlers directly (one transaction per event, as the bus edge would) and
reading what they built."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from sportello.contracts import AgentPresenceChanged, Event
from sportello.db import Database
from sportello_gateway.handlers import ROUTES as READ_MODEL_ROUTES
from sportello_gateway.kpi import service
from sportello_gateway.kpi.handlers import ROUTES
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
from tests.gateway.builders import envelope
from tests.gateway.kpi.dataset import Dataset

KPI_TABLES = (kpi_hourly, kpi_daily, kpi_conversations, kpi_messages, kpi_assignments,
              kpi_status_changes, kpi_agent_presence, kpi_agents)


def presence(agent_id: uuid.UUID, sequence: int, state: str, at: datetime, *,
             capacity: int = 4, team: str = "billing", name: str = "Ann"
             ) -> AgentPresenceChanged:
    """agent.presence_changed as assignment publishes it."""
    return AgentPresenceChanged(agent_id=agent_id, name=name, team=team,
                                presence=state,  # type: ignore[arg-type]
                                capacity=capacity, sequence=sequence, at=at)


async def apply_kpi(db: Database, events: Sequence[Event], *, read_model: bool = False) -> None:
    for event in events:
        async with db.transaction() as tx:
            await ROUTES[type(event)](tx, event, envelope(event))
            if read_model:
                await READ_MODEL_ROUTES[type(event)](tx, event, envelope(event))


async def answer_csat(db: Database, data: Dataset) -> None:
    for conversation_id, answer, answered_at in data.csat:
        async with db.transaction() as tx:
            await service.record_csat(tx, conversation_id, answer, answered_at)


async def buckets(db: Database) -> dict[tuple[Any, ...], float]:
    """The non-empty hourly and daily buckets (a bucket emptied by a move may stay as a zero
    row)."""
    found: dict[tuple[Any, ...], float] = {}
    async with db.transaction() as tx:
        for table in (kpi_hourly, kpi_daily):
            for row in (await tx.session.execute(select(table))).all():
                if row[-1] != 0:
                    found[(table.name, *row[:-1])] = row[-1]
    return found


async def facts(db: Database) -> dict[Any, dict[str, Any]]:
    async with db.transaction() as tx:
        rows = (await tx.session.execute(select(kpi_conversations))).mappings().all()
    return {row["id"]: dict(row) for row in rows}


async def wipe_kpi(db: Database) -> None:
    async with db.transaction() as tx:
        for table in KPI_TABLES:
            await tx.session.execute(delete(table))
