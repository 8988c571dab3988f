"""The HTTP edge of canned responses: parse, open the transaction, call the service, answer."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response

from sportello.http.auth import Principal, require
from sportello.http.idempotency import idempotent_route
from sportello.runtime import Context, context_of
from sportello.values import NO_NUL_PATTERN
from sportello_gateway.canned import service
from sportello_gateway.canned.schemas import (
    LANGUAGE_PATTERN,
    CannedIn,
    CannedOut,
    CannedPage,
    CannedPatch,
    RenderIn,
    RenderOut,
)
from sportello_gateway.tables import idempotency_keys

# POSTs honour Idempotency-Key: a retried create is answered again, never stored twice.
router = APIRouter(prefix="/v1/canned-responses", tags=["canned responses"],
                   route_class=idempotent_route("gateway", idempotency_keys))
GatewayContext = Annotated[Context, Depends(context_of("gateway"))]
Agent = Annotated[Principal, Depends(require("agent"))]
Supervisor = Annotated[Principal, Depends(require("supervisor"))]
CannedId = Annotated[uuid.UUID, Path(description="The canned response's id.")]
Responses = dict[int | str, dict[str, Any]]

_NOT_FOUND: Responses = {404: {"description": "No such canned response, or another "
                                                       "team's"}}
_TAKEN: Responses = {409: {"description": "The shortcut is already used in that team (or among "
                                          "the global responses)"}}


@router.get(
    "",
    response_model=CannedPage,
    summary="Canned responses offered to the caller, ordered by shortcut",
    description=(
        "An agent whose token names teams gets the global responses and their teams'; a team's "
        "response hides the global one with the same shortcut. `team` narrows to what that "
        "team's agents are offered."),
)
async def list_canned(
    ctx: GatewayContext,
    principal: Agent,
    team: Annotated[str | None, Query(min_length=1, max_length=128, pattern=NO_NUL_PATTERN)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL_PATTERN,
                                   description="Substring of the shortcut, title or text "
                                               "(case-insensitive).")] = None,
    language: Annotated[str | None, Query(pattern=LANGUAGE_PATTERN,
                                          description="ISO 639-1")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CannedPage:
    async with ctx.db.transaction() as tx:
        return await service.list_canned(tx, principal, team=team, q=q, language=language,
                                         limit=limit)


@router.get("/{canned_id}", response_model=CannedOut, summary="One canned response",
            responses=_NOT_FOUND)
async def get_canned(canned_id: CannedId, ctx: GatewayContext, principal: Agent) -> CannedOut:
    async with ctx.db.transaction() as tx:
        return await service.get_canned(tx, principal, canned_id)


@router.post("", response_model=CannedOut, status_code=201, summary="Save a canned response",
             responses={**_TAKEN, 422: {"description": "A field is not valid"}})
async def create_canned(ctx: GatewayContext, principal: Supervisor,
                        body: Annotated[CannedIn, Body()]) -> CannedOut:
    async with ctx.db.transaction() as tx:
        return await service.create_canned(tx, principal, body)


@router.patch("/{canned_id}", response_model=CannedOut,
              summary="Change some fields of a canned response",
              responses={**_NOT_FOUND, **_TAKEN, 422: {"description": "A field is not valid"}})
async def update_canned(canned_id: CannedId, ctx: GatewayContext, principal: Supervisor,
                        body: Annotated[CannedPatch, Body()]) -> CannedOut:
    async with ctx.db.transaction() as tx:
        return await service.update_canned(tx, principal, canned_id, body)


@router.delete("/{canned_id}", status_code=204, response_class=Response,
               summary="Delete a canned response", responses=_NOT_FOUND)
async def delete_canned(canned_id: CannedId, ctx: GatewayContext,
                        principal: Supervisor) -> Response:
    async with ctx.db.transaction() as tx:
        await service.delete_canned(tx, principal, canned_id)
    return Response(status_code=204)


@router.post(
    "/{canned_id}/render",
    response_model=RenderOut,
    summary="The response's text with its placeholders filled for a conversation",
    description="`{{customer.name}}`, `{{agent.name}}` and `{{conversation.channel}}` are filled "
                "from the conversation; any other placeholder is a 422 naming it.",
    responses={404: {"description": "No such canned response or conversation, or "
                                             "outside the caller's teams"},
               422: {"description": "Unknown placeholders in the text, or a bad body"}},
)
async def render_canned(canned_id: CannedId, ctx: GatewayContext, principal: Agent,
                        body: Annotated[RenderIn, Body()]) -> RenderOut:
    async with ctx.db.transaction() as tx:
        return await service.render_canned(tx, principal, canned_id, body.conversation_id)
