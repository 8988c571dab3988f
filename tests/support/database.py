"""Real PostgreSQL for tests: one embedded server per session, a database per purpose."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import SecretStr

from sportello.db import Database
from sportello.db.database import create_engine
from sportello.runtime import Component, migrate
from sportello.settings import ServiceSettings


def settings_for(database_url: str, cls: type[ServiceSettings] = ServiceSettings,
                 **overrides: object) -> ServiceSettings:
    return cls(database_url=SecretStr(database_url), environment="test", **overrides)  # type: ignore[arg-type]


@asynccontextmanager
async def migrated_database(component: Component, database_url: str) -> AsyncIterator[Database]:
    """The component's schema migrated to head, and a Database bound to it."""
    settings = settings_for(database_url)
    await migrate([component], settings)
    engine = create_engine(settings)
    try:
        yield Database(engine, component.metadata, source=f"sportello/{component.name}")
    finally:
        await engine.dispose()
