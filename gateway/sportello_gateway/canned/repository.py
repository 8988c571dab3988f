"""All SQL of canned responses. Works inside the caller's transaction; never commits."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, and_, delete, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_gateway.canned.tables import canned_responses

c = canned_responses.c
_UNIQUE_INDEXES = ("canned_responses_team_shortcut", "canned_responses_global_shortcut")


class ShortcutTaken(Exception):
    """Another response of the same team (or another global one) has this shortcut."""


def _escaped_like(term: str) -> str:
    """``term`` as a literal inside ILIKE: its own % and _ match themselves."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class CannedRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, canned_id: uuid.UUID) -> RowMapping | None:
        query = select(canned_responses).where(c.id == canned_id)
        return (await self.session.execute(query)).mappings().first()

    async def insert(self, values: Mapping[str, Any]) -> RowMapping:
        return await self._unique(insert(canned_responses).values(**values)
                                  .returning(canned_responses))

    async def update(self, canned_id: uuid.UUID, values: Mapping[str, Any]) -> RowMapping | None:
        statement = (update(canned_responses).where(c.id == canned_id).values(**values)
                     .returning(canned_responses))
        return await self._unique(statement, missing_ok=True)

    async def delete(self, canned_id: uuid.UUID) -> bool:
        deleted = await self.session.execute(
            delete(canned_responses).where(c.id == canned_id).returning(c.id))
        return deleted.first() is not None

    async def search(self, *, teams: frozenset[str] | None, q: str | None,
                     language: str | None, limit: int) -> list[RowMapping]:
        """Ordered by shortcut. ``teams`` None: every response; otherwise the global ones and
        these teams', a team's response hiding the global one of the same shortcut."""
        conditions: list[ColumnElement[bool]] = []
        if teams is not None:
            shadow = canned_responses.alias("shadow")
            shadowed = exists().where(shadow.c.shortcut == c.shortcut,
                                      shadow.c.team.in_(sorted(teams)))
            conditions.append(or_(c.team.in_(sorted(teams)),
                                  and_(c.team.is_(None), ~shadowed)))
        if q is not None:
            pattern = _escaped_like(q)
            conditions.append(or_(c.shortcut.ilike(pattern, escape="\\"),
                                  c.title.ilike(pattern, escape="\\"),
                                  c.text.ilike(pattern, escape="\\")))
        if language is not None:
            conditions.append(c.language == language)
        query = (select(canned_responses).where(*conditions)
                 .order_by(c.shortcut, c.team.nulls_first(), c.id).limit(limit))
        return list((await self.session.execute(query)).mappings())

    async def _unique(self, statement: Any, *, missing_ok: bool = False) -> Any:
        # A savepoint: a unique violation rolls back this statement only, so it can be answered
        # as a conflict (two supervisors racing for one shortcut included) without a 500.
        try:
            async with self.session.begin_nested():
                row = (await self.session.execute(statement)).mappings().first()
        except IntegrityError as exc:
            if any(name in str(exc.orig) for name in _UNIQUE_INDEXES):
                raise ShortcutTaken from exc
            raise
        if row is None and not missing_ok:
            raise LookupError("the statement returned no row")
        return row
