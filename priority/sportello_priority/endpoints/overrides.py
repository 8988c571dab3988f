"""A supervisor's override of a conversation's priority."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from sportello.http.auth import Principal, require
from sportello_priority import overrides
from sportello_priority.endpoints.common import PriorityContext, who
from sportello_priority.schemas import OverrideIn, OverrideOut
from sportello_priority.state import config_of

router = APIRouter(prefix="/v1/priority/conversations", tags=["priority"])


@router.get("/{conversation_id}/override", response_model=OverrideOut,
            summary="The override in force on a conversation's priority")
async def get_override(conversation_id: uuid.UUID, ctx: PriorityContext,
                       _: Annotated[Principal, Depends(require("agent"))]) -> OverrideOut:
    async with ctx.db.transaction() as tx:
        return OverrideOut.model_validate(dict(await overrides.current(tx, conversation_id)))


@router.put("/{conversation_id}/override", response_model=OverrideOut,
            summary="Pin a conversation's priority (announced at once; new messages keep it)")
async def put_override(conversation_id: uuid.UUID, body: OverrideIn, ctx: PriorityContext,
                       principal: Annotated[Principal, Depends(require("supervisor"))]
                       ) -> OverrideOut:
    async with ctx.db.transaction() as tx:
        config = await config_of(ctx).get(tx.session)
        row, _ = await overrides.set_override(tx, conversation_id, body, who(principal), config)
    return OverrideOut.model_validate(dict(row))


@router.delete("/{conversation_id}/override", status_code=status.HTTP_204_NO_CONTENT,
               summary="Clear the override: the model's priority again, announced at once")
async def delete_override(conversation_id: uuid.UUID, ctx: PriorityContext,
                          _: Annotated[Principal, Depends(require("supervisor"))]) -> None:
    async with ctx.db.transaction() as tx:
        await overrides.clear_override(tx, conversation_id, await config_of(ctx).get(tx.session))
