"""X (Twitter) Account Activity webhook: the CRC challenge and signed event deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from sportello_ingest import intake
from sportello_ingest.channels.x import SIGNATURE_HEADER, XAdapter
from sportello_ingest.endpoints.common import IngestContext, adapter_of, webhook_answer

router = APIRouter(prefix="/v1/channels/x", tags=["channels"])


def _x(ctx: IngestContext) -> XAdapter:
    adapter = adapter_of(ctx, "x", "x_consumer_secret")
    assert isinstance(adapter, XAdapter)
    return adapter


@router.get("/webhook", summary="X CRC challenge: prove we hold the consumer secret")
async def crc_challenge(ctx: IngestContext,
                        crc_token: Annotated[str, Query(min_length=1, max_length=1024)]) -> dict[str, str]:
    return _x(ctx).crc(crc_token)


@router.post("/webhook", summary="X Account Activity events (signed with the consumer secret)")
async def receive_events(
    request: Request,
    ctx: IngestContext,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> dict[str, int]:
    adapter = _x(ctx)
    body = await request.body()
    adapter.verify(signature, body)
    return webhook_answer(await intake.receive(ctx, adapter, body, "application/json"))
