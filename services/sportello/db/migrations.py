"""Alembic, driven from code: each service keeps its scripts, this module runs them.

``env.py`` of every service is two lines calling :func:`run_env`. Each service owns one PostgreSQL
schema (its tables and its alembic version table), so services can share a server or not.
"""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def upgrade(database_url: str, script_location: Path, revision: str = "head") -> None:
    """Blocking: call through ``asyncio.to_thread`` from async code (env.py runs its own loop)."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["database_url"] = database_url
    command.upgrade(config, revision)


def _migrate(connection: Connection, metadata: MetaData) -> None:
    schema = metadata.schema
    # Replicas starting together must not run the same migration twice.
    connection.execute(text("SELECT pg_advisory_lock(:key)"),
                       {"key": zlib.crc32(f"sportello.migrate.{schema}".encode())})
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    connection.commit()
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=schema,
        include_name=lambda name, type_, parent: type_ != "schema" or name == schema,
        include_schemas=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_env(metadata: MetaData) -> None:
    """Body of a service's alembic ``env.py`` (online mode only: we always have a database)."""
    url = context.config.attributes.get("database_url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database URL: pass it through sportello.db.migrations.upgrade")

    async def go() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(_migrate, metadata)
        await engine.dispose()

    asyncio.run(go())


def revision(database_url: str, script_location: Path, message: str) -> None:
    """Autogenerate a migration from the tables' current definition (development only)."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")
    command.revision(config, message=message, autogenerate=True)
