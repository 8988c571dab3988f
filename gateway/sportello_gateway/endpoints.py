"""The gateway's HTTP edge: parse the query, open the transaction, call the service, answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from sportello.http.auth import Principal, require
from sportello.runtime import Context, context_of
from sportello_gateway import service
from sportello_gateway.schemas import ConversationDetail, ConversationPage, MetricsSummary

router = APIRouter(prefix="/v1")
GatewayContext = Annotated[Context, Depends(context_of("gateway"))]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such conversation (or its first message is not known yet)"}
}


@router.get(
    "/conversations",
    response_model=ConversationPage,
    tags=["conversations"],
    summary="Conversations by priority (highest first), then oldest first; keyset-paginated",
    responses={400: {"description": "The cursor is not valid"}},
)
async def list_conversations(
    ctx: GatewayContext,
    _: Annotated[Principal, Depends(require("agent"))],
    status: Annotated[Literal["open", "resolved"] | None,
                      Query(description="Only conversations in this status; default all.")] = None,
    assignee: Annotated[
        uuid.UUID | Literal["unassigned"] | None,
        Query(description="An agent's id, or `unassigned` for conversations no agent holds "
                          "(never routed or waiting in the queue)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> ConversationPage:
    async with ctx.db.transaction() as tx:
        return await service.list_conversations(tx, status=status, assignee=assignee, limit=limit,
                                                cursor_text=cursor)


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationDetail,
    tags=["conversations"],
    summary="One conversation with its messages and their priority explanations",
    responses=_NOT_FOUND,
)
async def get_conversation(
    conversation_id: uuid.UUID,
    ctx: GatewayContext,
    _: Annotated[Principal, Depends(require("agent"))],
) -> ConversationDetail:
    async with ctx.db.transaction() as tx:
        return await service.get_conversation(tx, conversation_id)


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
