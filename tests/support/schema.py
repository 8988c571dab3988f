"""A component's migrations against its declared tables, on real PostgreSQL: the drift alembic's
autogenerate would see, and an alembic configuration to step through the revisions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from sportello.runtime import Component


def alembic_config(component: Component, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(component.migrations))
    config.attributes["database_url"] = database_url
    return config


async def schema_drift(component: Component, database_url: str, *,
                       tables: Callable[[str], bool] = lambda name: True) -> list[Any]:
    """What differs between the migrated schema and ``component.metadata`` (for the tables
    ``tables`` accepts), in alembic's autogenerate terms; [] when they agree."""
    metadata = component.metadata
    assert metadata is not None

    def kept(item: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        table = item if type_ == "table" else getattr(item, "table", None)
        return table is None or (table.name != "alembic_version" and tables(table.name))

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={
            "include_schemas": True, "version_table_schema": metadata.schema,
            "include_name": lambda name, type_, parent: type_ != "schema" or name == metadata.schema,
            "include_object": kept})
        return compare_metadata(context, metadata)

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(differences)
    finally:
        await engine.dispose()
