"""The generic API channel's edge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from sportello.http.auth import Principal, require
from sportello.http.problems import InvalidRequest
from sportello_ingest import intake
from sportello_ingest.channels.api import to_inbound
from sportello_ingest.endpoints.common import OUTCOME_STATUS, IngestContext
from sportello_ingest.schemas import ApiMessageIn, MessageAccepted

router = APIRouter(prefix="/v1/channels/api", tags=["channels"])


@router.post(
    "/messages",
    response_model=MessageAccepted,
    status_code=status.HTTP_201_CREATED,
    summary="Push a message through the generic API channel",
    responses={200: {"description": "Already accepted (same channel and external_id)"},
               202: {"description": "Archived, but it opens no conversation: the customer is blocked, "
                                    "or a brand message answers nothing we know"}},
)
async def post_api_message(
    message: ApiMessageIn,
    request: Request,
    response: Response,
    ctx: IngestContext,
    _: Annotated[Principal, Depends(require("integration"))],
) -> MessageAccepted:
    if message.direction == "outbound" and not (message.reply_to or message.recipient_id):
        raise InvalidRequest("An outbound message needs reply_to (the message it answers) or "
                             "recipient_id (the customer it addresses).")
    # The raw body is archived verbatim before anything else: replay re-reads it after any fix.
    delivery_id = await intake.archive(ctx, message.channel, "application/json", await request.body())
    accepted = await intake.accept_one(ctx, to_inbound(message), delivery_id)
    response.status_code = OUTCOME_STATUS[accepted.outcome]
    return MessageAccepted(outcome=accepted.outcome, message_id=accepted.message_id,
                           conversation_id=accepted.conversation_id, customer_id=accepted.customer_id,
                           duplicate=accepted.outcome == "duplicate")
