"""The gateway's HTTP edge: parse the query, open the transaction, call the service, answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query
from pydantic import AwareDatetime

from sportello.http.auth import Principal, require
from sportello.http.idempotency import idempotent_route
from sportello.runtime import Context, context_of
from sportello.values import NO_NUL_PATTERN
from sportello_gateway import notes_and_tags, queries, service
from sportello_gateway.cursor import Sort
from sportello_gateway.inbox import InboxFilters, SlaFilter
from sportello_gateway.schemas import (
    ConversationDetail,
    ConversationPage,
    ConversationStatus,
    MetricsSummary,
    NoteIn,
    NoteOut,
    TagsIn,
    TagsOut,
    TimelinePage,
)
from sportello_gateway.tables import idempotency_keys

# POSTs honour Idempotency-Key: a retried note or tag change is answered again, never applied twice.
router = APIRouter(prefix="/v1", route_class=idempotent_route("gateway", idempotency_keys))
GatewayContext = Annotated[Context, Depends(context_of("gateway"))]
Agent = Annotated[Principal, Depends(require("agent"))]
ConversationId = Annotated[uuid.UUID, Path(description="The conversation's id.")]
Responses = dict[int | str, dict[str, Any]]

_NOT_FOUND: Responses = {
    404: {"description": "No such conversation, not shown yet (its first message is not known), "
                         "or outside the caller's teams"},
}
_BAD_CURSOR: Responses = {400: {"description": "The cursor is not valid, or was made for another "
                                               "sort or filter set"}}
_TAGS: Responses = {**_NOT_FOUND, 409: {"description": "The change would leave more than 20 tags"},
                    422: {"description": "A tag is not valid"}}


@router.get(
    "/conversations",
    response_model=ConversationPage,
    tags=["conversations"],
    summary="The inbox: conversations filtered and sorted, keyset-paginated",
    description=(
        "Default order: priority (highest first), then oldest first. `sort=sla_deadline`: the "
        "soonest deadline first, conversations without a running SLA clock last. "
        "`sort=last_message_at`: the latest activity first. An agent whose token names teams "
        "sees those teams' conversations and the ones assigned to them. Pass `next_cursor` as "
        "`cursor` with the same filters and sort for the next page."),
    responses={**_BAD_CURSOR},
)
async def list_conversations(
    ctx: GatewayContext,
    principal: Agent,
    status: Annotated[ConversationStatus | None,
                      Query(description="Only conversations in this status; default all. The "
                                        "active inbox is `open`: snoozed ones are parked.")] = None,
    channel: Annotated[str | None, Query(max_length=64, pattern=NO_NUL_PATTERN,
                                         description="e.g. x, messenger, chat, email")] = None,
    team: Annotated[str | None, Query(max_length=128, pattern=NO_NUL_PATTERN, description=(
        "The owning team: the assigned agent's, or the one it is queued for."))] = None,
    assignee: Annotated[
        uuid.UUID | Literal["unassigned", "me"] | None,
        Query(description="An agent's id; `unassigned` for conversations no agent holds (never "
                          "routed or waiting in the queue); `me` for the caller's own."),
    ] = None,
    band: Annotated[list[Literal["urgent", "high", "normal", "low"]] | None,
                    Query(description="Priority band; repeat for any of several.")] = None,
    sentiment: Annotated[Literal["negative", "neutral", "positive"] | None, Query(
        description="The latest scored inbound message's sentiment.")] = None,
    sla: Annotated[SlaFilter | None, Query(description=(
        "ok (under 75% of the allowed time used), at_risk (75% or more), breached, or none "
        "(no SLA clock running)."))] = None,
    tag: Annotated[list[str] | None, Query(max_length=20, description=(
        "Repeat for several: all must be present. Normalised like the tags themselves."))] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL_PATTERN, description=(
        "Full text over the messages and the customer's name: every word must start a word "
        "there (prefix match, case-insensitive)."))] = None,
    sort: Annotated[Sort, Query(description="priority, sla_deadline or last_message_at")] = (
        "priority"),
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000,
                                        description="next_cursor of the previous page.")] = None,
) -> ConversationPage:
    filters = InboxFilters(status=status, channel=channel, team=team,
                           assignee=None if assignee == "me" else assignee,
                           bands=tuple(sorted(set(band or ()))), sentiment=sentiment,
                           sla_state=sla)
    async with ctx.db.transaction() as tx:
        return await queries.list_conversations(
            tx, principal, filters=filters, assignee_me=assignee == "me", tags=tag or (), q=q,
            sort=sort, limit=limit, cursor_text=cursor)


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationDetail,
    tags=["conversations"],
    summary="One conversation: its messages with their priority explanations, and its timeline",
    responses=_NOT_FOUND,
)
async def get_conversation(conversation_id: ConversationId, ctx: GatewayContext,
                           principal: Agent) -> ConversationDetail:
    # One snapshot: the row's counts and the messages and timeline shown must agree.
    async with ctx.db.snapshot() as tx:
        return await queries.get_conversation(tx, principal, conversation_id)


@router.get(
    "/conversations/{conversation_id}/timeline",
    response_model=TimelinePage,
    tags=["conversations"],
    summary="A conversation's timeline, oldest first, keyset-paginated",
    responses={**_NOT_FOUND, **_BAD_CURSOR},
)
async def get_timeline(
    conversation_id: ConversationId,
    ctx: GatewayContext,
    principal: Agent,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=1000,
                                        description="next_cursor of the previous page.")] = None,
) -> TimelinePage:
    async with ctx.db.transaction() as tx:
        return await queries.get_timeline(tx, principal, conversation_id, limit=limit,
                                          cursor_text=cursor)


@router.post(
    "/conversations/{conversation_id}/notes",
    response_model=NoteOut,
    status_code=201,
    tags=["conversations"],
    summary="Add an internal note (never shown to the customer)",
    responses={**_NOT_FOUND, 422: {"description": "The text is empty or too long"}},
)
async def add_note(conversation_id: ConversationId, ctx: GatewayContext, principal: Agent,
                   note: Annotated[NoteIn, Body()]) -> NoteOut:
    async with ctx.db.transaction() as tx:
        return await notes_and_tags.add_note(tx, principal, conversation_id, note.text)


@router.put(
    "/conversations/{conversation_id}/tags",
    response_model=TagsOut,
    tags=["conversations"],
    summary="Replace the conversation's tags",
    responses=_TAGS,
)
async def replace_tags(conversation_id: ConversationId, ctx: GatewayContext, principal: Agent,
                       body: Annotated[TagsIn, Body()]) -> TagsOut:
    async with ctx.db.transaction() as tx:
        return await notes_and_tags.replace_tags(tx, principal, conversation_id, body.tags)


@router.post(
    "/conversations/{conversation_id}/tags",
    response_model=TagsOut,
    tags=["conversations"],
    summary="Add tags to the conversation (those it has already are kept once)",
    responses=_TAGS,
)
async def add_tags(conversation_id: ConversationId, ctx: GatewayContext, principal: Agent,
                   body: Annotated[TagsIn, Body()]) -> TagsOut:
    async with ctx.db.transaction() as tx:
        return await notes_and_tags.add_tags(tx, principal, conversation_id, body.tags)


@router.delete(
    "/conversations/{conversation_id}/tags/{tag}",
    response_model=TagsOut,
    tags=["conversations"],
    summary="Remove one tag (removing a tag the conversation lacks changes nothing)",
    responses={**_NOT_FOUND, 400: {"description": "Not a valid tag"}},
)
async def remove_tag(conversation_id: ConversationId, ctx: GatewayContext, principal: Agent,
                     tag: Annotated[str, Path(max_length=200)]) -> TagsOut:
    async with ctx.db.transaction() as tx:
        return await notes_and_tags.remove_tag(tx, principal, conversation_id, tag)


@router.get(
    "/metrics/summary",
    response_model=MetricsSummary,
    tags=["metrics"],
    summary="Volume, open conversations and first-response times since a moment",
)
async def metrics_summary(
    ctx: GatewayContext,
    _: Annotated[Principal, Depends(require("supervisor"))],
    since: Annotated[AwareDatetime | None,
                     Query(description="ISO 8601 with an offset; default 24 hours ago.")] = None,
) -> MetricsSummary:
    async with ctx.db.transaction() as tx:
        return await service.metrics_summary(tx, since or datetime.now(UTC) - timedelta(hours=24))
