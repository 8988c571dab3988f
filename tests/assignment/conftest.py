"""Fixtures of assignment's tests: a freshly migrated database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sportello.db import Database
from sportello_assignment.component import COMPONENT
from tests.support.database import migrated_database


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(COMPONENT, fresh_database_url) as database:
        yield database
