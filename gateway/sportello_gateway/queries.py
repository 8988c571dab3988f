"""The conversations as the API shows them: the inbox, the detail and the timeline, each within
what the caller may see."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import RowMapping

from sportello.db import Tx
from sportello.http.auth import Principal
from sportello.http.problems import InvalidRequest
from sportello_gateway import cursor, inbox, views
from sportello_gateway.cursor import Sort
from sportello_gateway.repository import GatewayRepository
from sportello_gateway.schemas import (
    ConversationDetail,
    ConversationPage,
    FactorOut,
    TimelineEntryOut,
    TimelinePage,
    TrajectoryOut,
    normalise_tag,
)
from sportello_gateway.scope import agent_uuid, scope_of, visible_conversation
from sportello_gateway.timeline import TimelineKey, TimelineRepository

DETAIL_TIMELINE_ENTRIES = 200


async def list_conversations(tx: Tx, principal: Principal, *, filters: inbox.InboxFilters,
                             assignee_me: bool, tags: Sequence[str], q: str | None, sort: Sort,
                             limit: int, cursor_text: str | None) -> ConversationPage:
    filters = await _resolved(tx, principal, filters, assignee_me, tags, q)
    fingerprint = cursor.fingerprint(filters.fingerprint_source())
    after = None
    if cursor_text is not None:
        after = cursor.decode(cursor_text, sort=sort, filters_fingerprint=fingerprint)
    # One row more than asked tells whether another page exists without a count.
    rows = await inbox.list_page(tx.session, filters=filters, scope=scope_of(principal),
                                 sort=sort, after=after, limit=limit + 1)
    next_cursor = None
    if len(rows) > limit:
        next_cursor = cursor.encode(_position(sort, rows[limit - 1]), fingerprint)
    return ConversationPage(items=[views.conversation(row) for row in rows[:limit]],
                            next_cursor=next_cursor)


async def _resolved(tx: Tx, principal: Principal, filters: inbox.InboxFilters, assignee_me: bool,
                    tags: Sequence[str], q: str | None) -> inbox.InboxFilters:
    """The query's words turned into what the SQL compares: `me`, tags, the search."""
    if assignee_me:
        me = agent_uuid(principal)
        if me is None:
            raise InvalidRequest("assignee=me needs an agent's token (one naming an agent id).")
        filters = replace(filters, assignee=me)
    try:
        normalised = tuple(sorted({normalise_tag(tag) for tag in tags}))
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    filters = replace(filters, tags=normalised)
    if q is not None:
        lexemes = await inbox.search_lexemes(tx.session, q)
        if not lexemes:
            raise InvalidRequest("q holds no word to search for.")
        filters = replace(filters, search=inbox.prefix_query(sorted(set(lexemes))))
    return filters


def _position(sort: Sort, row: RowMapping) -> cursor.Position:
    if sort == "priority":
        return cursor.Position(sort=sort, at=row["opened_at"], id=row["id"],
                               priority=row["priority"])
    if sort == "sla_deadline":
        return cursor.Position(sort=sort, at=row["sla_deadline"], id=row["id"])
    return cursor.Position(sort=sort, at=row["last_message_at"], id=row["id"])


async def get_conversation(tx: Tx, principal: Principal,
                           conversation_id: uuid.UUID) -> ConversationDetail:
    repo = GatewayRepository(tx.session)
    row = await visible_conversation(repo, principal, conversation_id)
    messages = [views.message(m) for m in await repo.conversation_messages(conversation_id)]
    entries, next_cursor = await _timeline(tx, conversation_id, after=None,
                                           limit=DETAIL_TIMELINE_ENTRIES)
    breakdown = row["priority_breakdown"]
    trajectory = row["sentiment_trajectory"]
    return ConversationDetail(
        **views.conversation(row).model_dump(), messages=messages,
        priority_breakdown=[FactorOut.model_validate(f) for f in breakdown] if breakdown else None,
        sentiment_trajectory=TrajectoryOut.model_validate(trajectory) if trajectory else None,
        timeline=entries, timeline_next_cursor=next_cursor,
    )


async def get_timeline(tx: Tx, principal: Principal, conversation_id: uuid.UUID, *, limit: int,
                       cursor_text: str | None) -> TimelinePage:
    await visible_conversation(GatewayRepository(tx.session), principal, conversation_id)
    after = None
    if cursor_text is not None:
        after = cursor.decode_timeline(cursor_text, conversation_id)
    entries, next_cursor = await _timeline(tx, conversation_id, after=after, limit=limit)
    return TimelinePage(items=entries, next_cursor=next_cursor)


async def _timeline(tx: Tx, conversation_id: uuid.UUID, *,
                    after: TimelineKey | None,
                    limit: int) -> tuple[list[TimelineEntryOut], str | None]:
    repo = TimelineRepository(tx.session)
    rows = await repo.page(conversation_id, after=after, limit=limit + 1)
    shown = rows[:limit]
    messages = await repo.messages_by_id([r["message_id"] for r in shown if r["message_id"]])
    entries = [entry for entry in (views.timeline_entry(r, messages) for r in shown) if entry]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = cursor.encode_timeline(last["occurred_at"], last["sequence"],
                                             last["position"], conversation_id)
    return entries, next_cursor
