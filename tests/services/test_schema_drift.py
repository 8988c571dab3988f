"""Every component's migrations build exactly the schema its ``tables.py`` declares (columns, types,
nullability, indexes with their predicates, constraints): a hand-written migration that forgets or
mistypes something fails here, not in production."""

from __future__ import annotations

import pytest

from sportello.runtime import Component
from sportello_assignment.component import COMPONENT as ASSIGNMENT
from sportello_crm_sync.component import COMPONENT as CRM_SYNC
from sportello_gateway.component import COMPONENT as GATEWAY
from sportello_ingest.component import COMPONENT as INGEST
from sportello_priority.component import COMPONENT as PRIORITY
from tests.support.database import migrated_database, settings_for
from tests.support.schema import schema_drift


@pytest.mark.parametrize("component", [INGEST, PRIORITY, ASSIGNMENT, CRM_SYNC, GATEWAY],
                         ids=lambda c: c.name)
async def test_the_migrated_schema_is_the_declared_one(component: Component,
                                                       fresh_database_url: str) -> None:
    async with migrated_database(component, fresh_database_url):
        pass
    assert await schema_drift(component, settings_for(fresh_database_url).database_url_plain()) == []
