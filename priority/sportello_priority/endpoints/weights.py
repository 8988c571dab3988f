"""Weights profiles: how much each factor counts, per brand or team."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from sportello.http.auth import Principal, require
from sportello_priority import configuration
from sportello_priority.endpoints.common import PriorityContext, who
from sportello_priority.schemas import WeightsChanged, WeightsProfileOut
from sportello_priority.state import config_of
from sportello_priority.weights import Weights

router = APIRouter(prefix="/v1/priority/weights", tags=["priority"])
ProfileName = Annotated[str, Path(description="default, brand:<account> (e.g. brand:x:2244994945) "
                                              "or team:<name>", examples=["team:billing"])]


@router.get("", response_model=list[WeightsProfileOut], summary="Every weights profile")
async def list_profiles(ctx: PriorityContext,
                        _: Annotated[Principal, Depends(require("agent"))]) -> list[WeightsProfileOut]:
    async with ctx.db.transaction() as tx:
        return [WeightsProfileOut.model_validate(row)
                for row in await configuration.weights_profiles(tx)]


@router.get("/{name}", response_model=WeightsProfileOut, summary="One weights profile")
async def get_profile(name: ProfileName, ctx: PriorityContext,
                      _: Annotated[Principal, Depends(require("agent"))]) -> WeightsProfileOut:
    async with ctx.db.transaction() as tx:
        return WeightsProfileOut.model_validate(await configuration.weights_profile(tx, name))


@router.put("/{name}", response_model=WeightsChanged,
            summary="Set a profile's weights; open conversations it covers are re-prioritised")
async def put_profile(name: ProfileName, weights: Weights, ctx: PriorityContext,
                      principal: Annotated[Principal, Depends(require("supervisor"))]
                      ) -> WeightsChanged:
    async with ctx.db.transaction() as tx:
        row, queued = await configuration.put_weights(tx, name, weights, who(principal))
    config_of(ctx).invalidate()
    return WeightsChanged(**row, conversations_to_recompute=queued)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Remove a profile (the default one returns to the built-in weights)")
async def delete_profile(name: ProfileName, ctx: PriorityContext,
                         _: Annotated[Principal, Depends(require("supervisor"))]) -> None:
    async with ctx.db.transaction() as tx:
        await configuration.delete_weights(tx, name)
    config_of(ctx).invalidate()
