"""Meta's webhook (Pages, Messenger, Instagram, WhatsApp): the subscription handshake and signed events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import PlainTextResponse

from sportello_ingest import intake
from sportello_ingest.channels.meta import SIGNATURE_HEADER, MetaWebhook
from sportello_ingest.endpoints.common import IngestContext, adapter_of, webhook_answer

router = APIRouter(prefix="/v1/channels/meta", tags=["channels"])


def _meta(ctx: IngestContext) -> MetaWebhook:
    adapter = adapter_of(ctx, "meta", "meta_app_secret")
    assert isinstance(adapter, MetaWebhook)
    return adapter


@router.get("/webhook", response_class=PlainTextResponse,
            summary="Meta subscription handshake: echo hub.challenge to whoever knows our verify token")
async def handshake(
    ctx: IngestContext,
    mode: Annotated[str, Query(alias="hub.mode", max_length=64)],
    token: Annotated[str, Query(alias="hub.verify_token", max_length=1024)],
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=1024)],
) -> PlainTextResponse:
    return PlainTextResponse(_meta(ctx).handshake(mode, token, challenge))


@router.post("/webhook", summary="Meta webhook events (signed with the app secret)")
async def receive_events(
    request: Request,
    ctx: IngestContext,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> dict[str, int]:
    adapter = _meta(ctx)
    body = await request.body()
    adapter.verify(signature, body)
    return webhook_answer(await intake.receive(ctx, adapter, body, "application/json"))
