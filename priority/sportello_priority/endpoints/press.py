"""The press list: handles (journalists, analysts, regulators) whose messages jump the queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from sportello.http.auth import Principal, require
from sportello_priority import configuration
from sportello_priority.endpoints.common import PriorityContext
from sportello_priority.schemas import PressEntryIn, PressEntryOut
from sportello_priority.settings import normalise_handle
from sportello_priority.state import config_of, settings_of

router = APIRouter(prefix="/v1/priority/press", tags=["priority"])
Handle = Annotated[str, Path(pattern=r"^@?[^@\s/]{1,100}$", description="With or without '@'",
                             examples=["@jane_reporter"])]


@router.get("", response_model=list[PressEntryOut], summary="The press list")
async def list_press(ctx: PriorityContext,
                     _: Annotated[Principal, Depends(require("agent"))]) -> list[PressEntryOut]:
    async with ctx.db.transaction() as tx:
        entries = await configuration.press_entries(tx, settings_of(ctx).press_list())
    return [PressEntryOut.model_validate(e) for e in entries]


@router.put("/{handle}", response_model=PressEntryOut,
            summary="Add a handle (their open conversations are re-prioritised)")
async def add_press(handle: Handle, body: PressEntryIn, ctx: PriorityContext,
                    _: Annotated[Principal, Depends(require("supervisor"))]) -> PressEntryOut:
    normal = normalise_handle(handle)
    async with ctx.db.transaction() as tx:
        await configuration.add_press(tx, normal, body.note)
    config_of(ctx).invalidate()
    return PressEntryOut(handle=normal, note=body.note, source="api")


@router.delete("/{handle}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a handle")
async def remove_press(handle: Handle, ctx: PriorityContext,
                       _: Annotated[Principal, Depends(require("supervisor"))]) -> None:
    async with ctx.db.transaction() as tx:
        await configuration.remove_press(tx, normalise_handle(handle))
    config_of(ctx).invalidate()
