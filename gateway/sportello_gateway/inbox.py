"""The inbox's SQL: filters, three sorts, keyset pages and the agent's team scope.

Every page is built so PostgreSQL can read it as a short range scan of an ordered index and stop
after ``limit`` rows: the filters that pick an index (status, team, agent) are equalities in front
of the sort key, and whatever could only be said with an OR (a team scope over several teams plus
the agent's own conversations; the SLA sort's NULL deadlines after the others) becomes one ordered
branch per alternative, each limited, merged by a final sort of at most branches x limit rows.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    Select,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from sportello_gateway.cursor import Position, Sort
from sportello_gateway.tables import conversations

Assignee = uuid.UUID | Literal["unassigned"]
SlaFilter = Literal["ok", "at_risk", "breached", "none"]

c = conversations.c
# Everything the API shows; the search document can be large and is never read back.
LISTED_COLUMNS = tuple(column for column in conversations.c if column.name != "search_document")


@dataclass(frozen=True)
class InboxFilters:
    status: str | None = None
    channel: str | None = None
    team: str | None = None
    assignee: Assignee | None = None
    bands: tuple[str, ...] = ()
    sentiment: str | None = None
    sla_state: SlaFilter | None = None
    tags: tuple[str, ...] = ()  # all must be present
    search: str | None = None  # a to_tsquery('simple') text, see prefix_query

    def fingerprint_source(self) -> dict[str, Any]:
        return {"status": self.status, "channel": self.channel, "team": self.team,
                "assignee": str(self.assignee) if self.assignee else None,
                "bands": sorted(self.bands), "sentiment": self.sentiment, "sla": self.sla_state,
                "tags": sorted(self.tags), "q": self.search}


@dataclass(frozen=True)
class Scope:
    """What an agent with a team scope may see: their teams' conversations and their own."""

    teams: frozenset[str]
    agent_id: uuid.UUID | None = None


def prefix_query(lexemes: Sequence[str]) -> str:
    """Every word of the search must start a word of the conversation: 'lex':* & 'lex2':* ...
    Lexemes come from PostgreSQL's own parser (to_tsvector 'simple'), so the query splits words
    exactly as the documents were split; quoting keeps any character from being read as an
    operator (PostgreSQL still re-splits a quoted lexeme its parser would split, as a phrase)."""
    quoted = ("'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "':*" for lexeme in lexemes)
    return " & ".join(quoted)


async def search_lexemes(session: AsyncSession, text: str) -> list[str]:
    result = await session.execute(
        select(func.tsvector_to_array(func.to_tsvector(literal_column("'simple'"), text)))
    )
    lexemes: list[str] = result.scalar_one() or []
    return lexemes


async def list_page(session: AsyncSession, *, filters: InboxFilters, scope: Scope | None,
                    sort: Sort, after: Position | None, limit: int) -> Sequence[RowMapping]:
    query = page_query(filters=filters, scope=scope, sort=sort, after=after, limit=limit)
    if query is None:
        return []
    return (await session.execute(query)).mappings().all()


def page_query(*, filters: InboxFilters, scope: Scope | None, sort: Sort,
               after: Position | None, limit: int) -> Select[Any] | None:
    """The page's statement (None when the scope leaves nothing to see)."""
    common = _filter_conditions(filters)
    alternatives = [
        common + scoped + keyset
        for scoped, keyset in itertools.product(_scope_alternatives(scope),
                                                _keyset_alternatives(sort, after))
    ]
    if not alternatives:
        return None
    if len(alternatives) == 1:
        return (select(*LISTED_COLUMNS).where(*alternatives[0]).order_by(*_order(sort, c))
                .limit(limit))
    # The branches carry only the sort key (read from the index), merged and cut to the page;
    # the page's rows are then fetched by id. Narrow branches also keep building the statement
    # cheap: SQLAlchemy proxies every column of every subquery.
    key = _sort_key(sort)
    branches = [
        select(*key).where(*conditions).order_by(*_order(sort, c)).limit(limit).subquery()
        for conditions in alternatives
    ]
    merged = union_all(*(select(branch) for branch in branches)).subquery("inbox")
    page = select(merged.c.id).order_by(*_order(sort, merged.c)).limit(limit).subquery("page")
    return (select(*LISTED_COLUMNS).join(page, page.c.id == c.id)
            .order_by(*_order(sort, c)))


def _filter_conditions(f: InboxFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [c.opened_at.is_not(None)]
    if f.status is not None:
        conditions.append(c.status == f.status)
    if f.channel is not None:
        conditions.append(c.channel == f.channel)
    if f.team is not None:
        conditions.append(c.team == f.team)
    if f.assignee == "unassigned":
        conditions.append(c.agent_id.is_(None))
    elif f.assignee is not None:
        conditions.append(c.agent_id == f.assignee)
    if f.bands:
        conditions.append(c.priority_band.in_(f.bands))
    if f.sentiment is not None:
        conditions.append(c.sentiment_label == f.sentiment)
    if f.sla_state == "none":
        conditions.append(c.sla_state.is_(None))
    elif f.sla_state is not None:
        conditions.append(c.sla_state == f.sla_state)
    if f.tags:
        conditions.append(c.tags.contains(list(f.tags)))
    if f.search is not None:
        tsquery = func.to_tsquery(literal_column("'simple'"), f.search)
        conditions.append(c.search_document.op("@@")(tsquery))
    return conditions


def _scope_alternatives(scope: Scope | None) -> list[list[ColumnElement[bool]]]:
    if scope is None:
        return [[]]
    # One branch per team keeps each an ordered scan of conversations_inbox_by_team.
    alternatives: list[list[ColumnElement[bool]]] = [[c.team == team]
                                                     for team in sorted(scope.teams)]
    if scope.agent_id is not None:
        mine: list[ColumnElement[bool]] = [c.agent_id == scope.agent_id]
        if scope.teams:  # already listed by a team branch: not twice
            mine.append(or_(c.team.is_(None), c.team.not_in(sorted(scope.teams))))
        alternatives.append(mine)
    return alternatives


def _keyset_alternatives(sort: Sort, after: Position | None) -> list[list[ColumnElement[bool]]]:
    if after is None:
        return [[]]
    if sort == "priority":
        assert after.priority is not None and after.at is not None
        # Mixed sort directions rule out one row comparison; the redundant `priority <=` bound
        # lets the scan start at the cursor's priority instead of the top.
        return [[c.priority <= after.priority,
                 or_(c.priority < after.priority,
                     tuple_(c.opened_at, c.id) > (after.at, after.id))]]
    if sort == "sla_deadline":
        if after.at is None:  # already among the conversations without a deadline
            return [[c.sla_deadline.is_(None), c.id > after.id]]
        # The rest with a deadline, then every one without: two ordered scans.
        return [[tuple_(c.sla_deadline, c.id) > (after.at, after.id)],
                [c.sla_deadline.is_(None)]]
    assert after.at is not None
    return [[tuple_(c.last_message_at, c.id) < (after.at, after.id)]]


def _sort_key(sort: Sort) -> tuple[Any, ...]:
    if sort == "priority":
        return c.priority, c.opened_at, c.id
    if sort == "sla_deadline":
        return c.sla_deadline, c.id
    return c.last_message_at, c.id


def _order(sort: Sort, columns: Any) -> list[Any]:
    if sort == "priority":
        return [columns.priority.desc(), columns.opened_at, columns.id]
    if sort == "sla_deadline":
        return [columns.sla_deadline.asc().nulls_last(), columns.id]
    return [columns.last_message_at.desc(), columns.id.desc()]
