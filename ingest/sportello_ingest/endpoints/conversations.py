"""Agents' actions owned by ingest: reply in the customer's channel, resolve, reopen, snooze; message
lookup."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from sportello.contracts import ConversationStatus
from sportello.http.auth import Principal, require
from sportello.http.idempotency import idempotent_route, record_within
from sportello.http.problems import NotFound
from sportello_ingest import conversations, replies
from sportello_ingest.endpoints.common import IngestContext, channels_of
from sportello_ingest.repository import IngestRepository
from sportello_ingest.schemas import ConversationStatusOut, MessageOut, ReplyIn, SnoozeIn
from sportello_ingest.sender import WAKEUP
from sportello_ingest.tables import idempotency_keys

# POSTs here honour Idempotency-Key: an agent's retried reply is answered again, never sent twice.
router = APIRouter(tags=["conversations"], route_class=idempotent_route("ingest", idempotency_keys))
Agent = Annotated[Principal, Depends(require("agent"))]


@router.post("/v1/conversations/{conversation_id}/replies", response_model=MessageOut,
             status_code=status.HTTP_202_ACCEPTED,
             summary="Reply in the customer's channel; the message is sent asynchronously",
             responses={400: {"description": "The channel cannot carry this reply"},
                        404: {"description": "No such conversation"},
                        409: {"description": "The comment already had its one private reply"}})
async def reply(conversation_id: uuid.UUID, body: ReplyIn, ctx: IngestContext, _: Agent,
                request: Request) -> MessageOut:
    async with ctx.db.transaction() as tx:
        message_id = await replies.queue_reply(tx, channels_of(ctx), conversation_id, body, datetime.now(UTC))
        queued = MessageOut.model_validate(await IngestRepository(tx.session).message(message_id))
        # With the reply it queues: a crash right after the commit still replays, never re-sends.
        await record_within(request, tx, status.HTTP_202_ACCEPTED, queued)
    wakeup = ctx.state.get(WAKEUP)
    if wakeup is not None:
        wakeup.set()  # the sender in this process goes now rather than at its next poll
    return queued


async def _status(ctx: IngestContext, conversation_id: uuid.UUID, wanted: ConversationStatus,
                  snoozed_until: datetime | None = None) -> ConversationStatusOut:
    async with ctx.db.transaction() as tx:
        changed = await conversations.change_status(tx, conversation_id, wanted, datetime.now(UTC),
                                                    snoozed_until=snoozed_until)
    return ConversationStatusOut(conversation_id=conversation_id, status=wanted, changed=changed,
                                 snoozed_until=snoozed_until)


@router.post("/v1/conversations/{conversation_id}/resolve", response_model=ConversationStatusOut,
             summary="Resolve a conversation (idempotent)")
async def resolve(conversation_id: uuid.UUID, ctx: IngestContext, _: Agent) -> ConversationStatusOut:
    return await _status(ctx, conversation_id, "resolved")


@router.post("/v1/conversations/{conversation_id}/reopen", response_model=ConversationStatusOut,
             summary="Reopen a resolved conversation, or wake a snoozed one (idempotent)",
             responses={409: {"description": "The customer has another open conversation on the account"}})
async def reopen(conversation_id: uuid.UUID, ctx: IngestContext, _: Agent) -> ConversationStatusOut:
    return await _status(ctx, conversation_id, "open")


@router.post("/v1/conversations/{conversation_id}/snooze", response_model=ConversationStatusOut,
             summary="Snooze a conversation until a time, or until the customer writes (idempotent)",
             description="It keeps its owner, leaves the active inbox and frees the owner's slot. It "
                         "is not an answer: a response clock that runs keeps running. It opens "
                         "again when the customer writes, at `until`, or on `reopen`. Snoozing a "
                         "snoozed conversation changes its end.",
             responses={409: {"description": "The conversation is resolved"}})
async def snooze(conversation_id: uuid.UUID, body: SnoozeIn, ctx: IngestContext,
                 _: Agent) -> ConversationStatusOut:
    return await _status(ctx, conversation_id, "snoozed", body.until)


@router.get("/v1/messages/{message_id}", response_model=MessageOut, summary="One message, with its "
            "delivery status")
async def message(message_id: uuid.UUID, ctx: IngestContext, _: Agent) -> MessageOut:
    async with ctx.db.transaction() as tx:
        found = await IngestRepository(tx.session).message(message_id)
    if found is None:
        raise NotFound(f"No message {message_id}.")
    return MessageOut.model_validate(found)


@router.get("/v1/channels/{channel}/messages/{external_id}", response_model=MessageOut,
            summary="A message by its platform id")
async def message_by_external_id(channel: str, external_id: str, ctx: IngestContext, _: Agent) -> MessageOut:
    async with ctx.db.transaction() as tx:
        repo = IngestRepository(tx.session)
        stored = await repo.find_message(channel, external_id)
        found = await repo.message(stored.id) if stored else None
    if found is None:
        raise NotFound(f"No {channel} message {external_id}.")
    return MessageOut.model_validate(found)
