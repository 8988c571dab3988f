"""Database.snapshot: reads of several statements see one snapshot, where a transaction at READ
COMMITTED would see a commit that lands between two of them; the pooled connection goes back to the
default isolation afterwards. On real PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from sportello.db import Database
from sportello_ingest.component import COMPONENT
from tests.services.test_outbox_relay import _event
from tests.support.database import migrated_database

OUTBOX_ROWS = text("SELECT count(*) FROM ingest.outbox")


async def _commit_an_event(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.outbox.add(_event(), subject="meanwhile")


async def test_a_snapshot_does_not_see_a_commit_between_its_statements(fresh_database_url: str) -> None:
    async with migrated_database(COMPONENT, fresh_database_url) as db:
        async with db.snapshot() as tx:
            before = (await tx.session.execute(OUTBOX_ROWS)).scalar_one()
            await _commit_an_event(db)
            assert (await tx.session.execute(OUTBOX_ROWS)).scalar_one() == before
        async with db.transaction() as tx:  # read committed again, on a pooled connection
            assert (await tx.session.execute(OUTBOX_ROWS)).scalar_one() == before + 1
            level = (await tx.session.execute(text("SHOW transaction_isolation"))).scalar_one()
        assert level == "read committed"
