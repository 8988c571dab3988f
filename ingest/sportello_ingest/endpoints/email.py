"""E-mail's edge: raw MIME from the mail provider's inbound hook, signed per Standard Webhooks."""

from __future__ import annotations

from fastapi import APIRouter, Request

from sportello_ingest import intake
from sportello_ingest.channels.email import EmailAdapter
from sportello_ingest.endpoints.common import IngestContext, adapter_of, webhook_answer

router = APIRouter(prefix="/v1/channels/email", tags=["channels"])

_RAW_MESSAGE = {"requestBody": {"required": True, "content": {
    "message/rfc822": {"schema": {"type": "string", "format": "binary"}}}}}


@router.post("/inbound", openapi_extra=_RAW_MESSAGE,
             summary="One received e-mail, raw (RFC 5322), signed with the e-mail webhook secret",
             responses={401: {"description": "webhook-id, webhook-timestamp or webhook-signature missing"},
                        403: {"description": "Wrong signature, or a timestamp too far from now"},
                        404: {"description": "The e-mail channel is not configured"}})
async def receive_email(request: Request, ctx: IngestContext) -> dict[str, int]:
    adapter = adapter_of(ctx, "email", "email_webhook_secret")
    assert isinstance(adapter, EmailAdapter)
    body = await request.body()
    adapter.verify(request.headers, body)
    return webhook_answer(await intake.receive(ctx, adapter, body, "message/rfc822"))
