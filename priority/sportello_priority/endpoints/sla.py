"""Business calendars and SLA policies. A policy change applies to clocks started after it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from sportello.http.auth import Principal, require
from sportello_priority import configuration
from sportello_priority.endpoints.common import PriorityContext
from sportello_priority.sla import BusinessCalendar
from sportello_priority.sla_specs import CalendarIn, PolicySpec
from sportello_priority.state import config_of

router = APIRouter(prefix="/v1/priority", tags=["priority"])
Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,100}$", examples=["italy-office"])]


@router.get("/calendars", response_model=list[BusinessCalendar], summary="Business calendars")
async def list_calendars(ctx: PriorityContext, _: Annotated[Principal, Depends(require("agent"))]
                         ) -> list[BusinessCalendar]:
    async with ctx.db.transaction() as tx:
        return await configuration.calendars(tx)


@router.put("/calendars/{name}", response_model=BusinessCalendar,
            summary="Create or replace a calendar (time zone, weekly shifts, holidays)")
async def put_calendar(name: Name, calendar: CalendarIn, ctx: PriorityContext,
                       _: Annotated[Principal, Depends(require("admin"))]) -> BusinessCalendar:
    async with ctx.db.transaction() as tx:
        saved = await configuration.put_calendar(tx, name, calendar)
    config_of(ctx).invalidate()
    return saved


@router.delete("/calendars/{name}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete a calendar no policy uses")
async def delete_calendar(name: Name, ctx: PriorityContext,
                          _: Annotated[Principal, Depends(require("admin"))]) -> None:
    async with ctx.db.transaction() as tx:
        await configuration.delete_calendar(tx, name)
    config_of(ctx).invalidate()


@router.get("/sla-policies", response_model=dict[str, PolicySpec],
            summary="SLA policies by name (until a catch-all exists, other channels get the "
                    "built-in 24x7 default)")
async def list_policies(ctx: PriorityContext, _: Annotated[Principal, Depends(require("agent"))]
                        ) -> dict[str, PolicySpec]:
    async with ctx.db.transaction() as tx:
        return await configuration.policies(tx)


@router.put("/sla-policies/{name}", response_model=PolicySpec,
            summary="Create or replace a policy: targets per band, channels, calendar")
async def put_policy(name: Name, spec: PolicySpec, ctx: PriorityContext,
                     _: Annotated[Principal, Depends(require("admin"))]) -> PolicySpec:
    async with ctx.db.transaction() as tx:
        saved = await configuration.put_policy(tx, name, spec)
    config_of(ctx).invalidate()
    return saved


@router.delete("/sla-policies/{name}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete a policy")
async def delete_policy(name: Name, ctx: PriorityContext,
                        _: Annotated[Principal, Depends(require("admin"))]) -> None:
    async with ctx.db.transaction() as tx:
        await configuration.delete_policy(tx, name)
    config_of(ctx).invalidate()
