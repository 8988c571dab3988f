"""The KPI tables' hand-written migration e4c0a7e1d006 (presence, running-figures index) steps back
and forward again on real PostgreSQL, ending where ``kpi/tables.py`` says (the whole schema's drift
is checked in ``tests/services/test_schema_drift.py``)."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from sportello_gateway.component import COMPONENT
from tests.support.database import migrated_database, settings_for
from tests.support.schema import alembic_config, schema_drift

BEFORE_PRESENCE = "e4c0a7e1d005"
PRESENCE_TABLES = {"kpi_agent_presence", "kpi_agents"}


async def _kpi_tables(database_url: str) -> set[str]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return set((await connection.execute(text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'gateway' AND table_name LIKE 'kpi%'"))).scalars())
    finally:
        await engine.dispose()


async def test_the_presence_migration_steps_back_and_forward(fresh_database_url: str) -> None:
    async with migrated_database(COMPONENT, fresh_database_url):
        pass
    url = settings_for(fresh_database_url).database_url_plain()
    assert await _kpi_tables(url) >= PRESENCE_TABLES

    config = alembic_config(COMPONENT, url)
    await asyncio.to_thread(command.downgrade, config, BEFORE_PRESENCE)
    assert not await _kpi_tables(url) & PRESENCE_TABLES
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await _kpi_tables(url) >= PRESENCE_TABLES
    assert await schema_drift(COMPONENT, url, tables=lambda name: name.startswith("kpi_")) == []
