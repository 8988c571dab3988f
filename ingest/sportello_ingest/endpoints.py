"""Ingest's HTTP edge: validate, open the transaction, call the service, answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from sportello.http.auth import Principal, require
from sportello.runtime import Context, context_of
from sportello_ingest import service
from sportello_ingest.schemas import ApiMessageIn, MessageAccepted

router = APIRouter(prefix="/v1/channels", tags=["channels"])
IngestContext = Annotated[Context, Depends(context_of("ingest"))]


@router.post(
    "/api/messages",
    response_model=MessageAccepted,
    status_code=status.HTTP_201_CREATED,
    summary="Push a message through the generic API channel",
    responses={200: {"description": "Already accepted (same channel and external_id)"}},
)
async def post_api_message(
    message: ApiMessageIn,
    request: Request,
    response: Response,
    ctx: IngestContext,
    _: Annotated[Principal, Depends(require("integration"))],
) -> MessageAccepted:
    raw = await request.json()  # archived verbatim: later parsers may want fields we ignore today
    try:
        async with ctx.db.transaction() as tx:
            accepted = await service.accept_message(tx, message, raw)
    except service.DuplicateInFlight:
        async with ctx.db.transaction() as tx:
            accepted = await service.accept_message(tx, message, raw)
    if accepted.duplicate:
        response.status_code = status.HTTP_200_OK
    return accepted
