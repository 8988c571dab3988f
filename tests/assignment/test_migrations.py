"""Assignment's hand-written migrations on real PostgreSQL: stepping back below snooze keeps every
parked conversation in a state the older code knows (owned ones wait on the customer, the others
queue). The whole schema's drift is checked in ``tests/services/test_schema_drift.py``."""

from __future__ import annotations

import asyncio
import uuid

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from sportello_assignment.component import COMPONENT
from tests.support.database import migrated_database, settings_for
from tests.support.schema import alembic_config

BEFORE_SNOOZE = "3f872ae5af6f"


async def test_downgrading_below_snooze_parks_conversations_in_known_states(
        fresh_database_url: str) -> None:
    owner, owned, unowned = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with migrated_database(COMPONENT, fresh_database_url) as db, db.transaction() as tx:
        await tx.session.execute(text(
            "INSERT INTO assignment.agents (id, name, team, capacity, presence) "
            "VALUES (:id, 'Ada', 'care', 3, 'online')"), {"id": owner})
        await tx.session.execute(text(
            "INSERT INTO assignment.conversations (id, customer_id, status, agent_id, priority) "
            "VALUES (:owned, :customer, 'snoozed', :owner, 50), "
            "(:unowned, :customer, 'snoozed', NULL, 50)"),
            {"owned": owned, "unowned": unowned, "customer": uuid.uuid4(), "owner": owner})

    config = alembic_config(COMPONENT, settings_for(fresh_database_url).database_url_plain())
    await asyncio.to_thread(command.downgrade, config, BEFORE_SNOOZE)

    engine = create_async_engine(settings_for(fresh_database_url).database_url_plain())
    try:
        async with engine.connect() as connection:
            rows: dict[uuid.UUID, str] = dict((await connection.execute(text(
                "SELECT id, status FROM assignment.conversations WHERE queued_at IS NOT NULL "
                "OR status = 'waiting'"))).all())
            columns = set((await connection.execute(text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'assignment' AND table_name = 'agents'"))).scalars())
    finally:
        await engine.dispose()
    assert rows == {owned: "waiting", unowned: "queued"}
    assert "presence_sequence" not in columns
    await asyncio.to_thread(command.upgrade, config, "head")  # and forward again
