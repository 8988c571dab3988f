"""``GET /v1/stream``: the caller's conversation events as Server-Sent Events, as they happen.

Frames (``text/event-stream``):

- ``event: ready`` first, with ``id:`` where the client stands once what is queued for it is
  delivered (the ``Last-Event-ID`` being replayed, else the replica's position at connect time): a
  client reconnecting with that id misses nothing, if this replica still has it;
- one frame per conversation event, ``event:`` its type (``message.received``, ``conversation.
  assigned``...), ``id:`` its stream id, ``data:`` JSON ``{event_id, type, version, occurred_at,
  conversation_id, data}``;
- ``event: resync`` when a ``Last-Event-ID`` cannot be replayed: reload, then keep following;
- ``event: overflow`` / ``event: shutdown``, then the end: the client fell too far behind, or the
  replica is stopping (reconnect);
- a ``: heartbeat`` comment every ``gateway_stream_heartbeat_seconds`` when nothing else was sent.

Scope: supervisors, admins and API keys see every conversation; an agent sees their teams'
conversations and the ones assigned to them (:func:`sportello.http.auth.scope_of`).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from sportello.http.auth import Principal, require, scope_of
from sportello.http.problems import PROBLEM_JSON, InvalidRequest, Problem
from sportello.runtime import Context, context_of
from sportello_gateway.edge.hub import Notice, StreamClient, StreamEvent, StreamFilter, StreamHub
from sportello_gateway.edge.taps import conversation_topics
from sportello_gateway.settings import GatewaySettings

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1")
GatewayContext = Annotated[Context, Depends(context_of("gateway"))]
HUB_STATE = "edge.stream_hub"
# A client disconnected by a shutdown or an overflow waits this long before reconnecting.
RECONNECT_MILLISECONDS = 3000
_HEADERS = {
    "Cache-Control": "no-cache",
    # nginx (the usual ingress controller) buffers responses unless told not to.
    "X-Accel-Buffering": "no",
}
_EXAMPLE = (
    'retry: 3000\nid: 1f0c2a9b7d3e-41\nevent: ready\ndata: {"last_event_id":"1f0c2a9b7d3e-41"}\n\n'
    'id: 1f0c2a9b7d3e-42\nevent: conversation.assigned\ndata: {"event_id":"…","type":'
    '"conversation.assigned","version":1,"occurred_at":"…","conversation_id":"…","data":{…}}\n\n'
    ": heartbeat\n\n"
)


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {
        "type": "object", "required": ["type", "title", "status", "detail"],
        "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                       "status": {"type": "integer"}, "detail": {"type": "string"}}}}}}


class StreamUnavailable(Problem):
    status, title, slug = 503, "Service unavailable", "stream-unavailable"


def stream_types() -> frozenset[str]:
    return frozenset(event.event_type for topic in conversation_topics() for event in topic.events)


def parse_types(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    wanted = frozenset(filter(None, (part.strip() for part in text.split(","))))
    unknown = sorted(wanted - stream_types())
    if not wanted or unknown:
        raise InvalidRequest(f"Unknown event types: {', '.join(unknown) or '(none given)'}.",
                             known_types=sorted(stream_types()))
    return wanted


@router.get(
    "/stream",
    tags=["stream"],
    summary="Live conversation events the caller may see (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {"description": "An endless text/event-stream (see the frames in the gateway docs)",
              "content": {"text/event-stream": {"schema": {"type": "string"}, "example": _EXAMPLE}}},
        400: _problem("An unknown event type in `types` (the known ones are listed)"),
        422: _problem("`conversation_id` is not a UUID (every invalid field is listed)"),
        503: _problem("The stream is shutting down on this replica: reconnect"),
    },
)
async def stream(
    ctx: GatewayContext,
    principal: Annotated[Principal, Depends(require("agent"))],
    conversation_id: Annotated[uuid.UUID | None,
                               Query(description="Only this conversation's events.")] = None,
    types: Annotated[str | None, Query(description="Comma-separated event types, e.g. "
                                       "`message.received,conversation.assigned`; default all.")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", description=(
        "The last id received (browsers send it when they reconnect): what was missed is replayed, "
        "or a `resync` event says to reload."))] = None,
) -> StreamingResponse:
    hub: StreamHub | None = ctx.state.get(HUB_STATE)
    if hub is None or hub.closed:
        raise StreamUnavailable("The live stream is not running on this replica; reconnect.")
    settings = ctx.settings
    assert isinstance(settings, GatewaySettings)
    stream_filter = StreamFilter(scope=scope_of(principal), conversation_id=conversation_id,
                                 types=parse_types(types))
    client = hub.connect(stream_filter, last_event_id)
    log.info("gateway.stream.opened", role=principal.role, scoped=not stream_filter.scope.everything,
             conversation_id=str(conversation_id) if conversation_id else None,
             types=sorted(stream_filter.types) if stream_filter.types else None,
             resumed=bool(last_event_id), clients=hub.clients)
    return StreamingResponse(frames(hub, client, settings.gateway_stream_heartbeat_seconds),
                             media_type="text/event-stream", headers=_HEADERS)


async def frames(hub: StreamHub, client: StreamClient, heartbeat_seconds: float) -> AsyncIterator[str]:
    try:
        yield _frame("ready", {"last_event_id": client.position}, event_id=client.position,
                     retry=RECONNECT_MILLISECONDS)
        while True:
            try:
                item = await asyncio.wait_for(client.queue.get(), timeout=heartbeat_seconds)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if isinstance(item, StreamEvent):
                yield f"id: {item.id}\nevent: {item.type}\ndata: {item.data}\n\n"
                continue
            assert isinstance(item, Notice)
            yield _frame(item.kind, {"reason": _REASONS[item.kind]})
            if item.final:
                return
    finally:
        hub.disconnect(client)
        log.info("gateway.stream.closed", ended=client.ended or "client_left", clients=hub.clients)


_REASONS = {
    "resync": "Events since Last-Event-ID cannot be replayed: reload, then keep following.",
    "overflow": "The client fell too far behind; reconnect and reload.",
    "shutdown": "This server is stopping; reconnect.",
}


def _frame(event: str, data: dict[str, Any], *, event_id: str | None = None,
           retry: int | None = None) -> str:
    lines = [f"retry: {retry}"] if retry is not None else []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines += [f"event: {event}", f"data: {json.dumps(data, separators=(',', ':'))}"]
    return "\n".join(lines) + "\n\n"
