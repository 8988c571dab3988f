"""The KPI tables' hand-written migrations on real PostgreSQL: the migrated KPI tables are what
``kpi/tables.py`` declares, and e4c0a7e1d006 (presence, running-figures index) steps back and
forward again."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from sportello_gateway.component import COMPONENT
from sportello_gateway.tables import metadata
from tests.support.database import migrated_database, settings_for

BEFORE_PRESENCE = "e4c0a7e1d005"


def _alembic(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(COMPONENT.migrations))
    config.attributes["database_url"] = database_url
    return config


def _kpi_differences(connection: Connection) -> list[Any]:
    """Differences on the KPI tables only (the rest of the gateway's schema is not ours here)."""
    def kpi_only(item: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
                 ) -> bool:
        table = item if type_ == "table" else getattr(item, "table", None)
        return table is not None and table.name.startswith("kpi_")

    context = MigrationContext.configure(connection, opts={
        "include_schemas": True, "version_table_schema": metadata.schema,
        "include_name": lambda name, type_, parent: type_ != "schema" or name == metadata.schema,
        "include_object": kpi_only})
    return compare_metadata(context, metadata)


async def _kpi_tables(database_url: str) -> tuple[set[str], list[Any]]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            tables = set((await connection.execute(text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'gateway' AND table_name LIKE 'kpi%'"))).scalars())
            differences = await connection.run_sync(_kpi_differences)
    finally:
        await engine.dispose()
    return tables, differences


async def test_the_migrated_kpi_tables_are_the_declared_ones(fresh_database_url: str) -> None:
    async with migrated_database(COMPONENT, fresh_database_url):
        pass
    url = settings_for(fresh_database_url).database_url_plain()
    tables, differences = await _kpi_tables(url)
    assert {"kpi_agent_presence", "kpi_agents"} <= tables
    assert differences == []

    config = _alembic(url)
    await asyncio.to_thread(command.downgrade, config, BEFORE_PRESENCE)
    tables, _ = await _kpi_tables(url)
    assert not tables & {"kpi_agent_presence", "kpi_agents"}
    await asyncio.to_thread(command.upgrade, config, "head")
    tables, differences = await _kpi_tables(url)
    assert {"kpi_agent_presence", "kpi_agents"} <= tables
    assert differences == []
