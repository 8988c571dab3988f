"""The KPI HTTP edge: the report and the CSV export (supervisors), CSAT answers (agents and
integrations)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from sportello.http.auth import Principal, require, require_any
from sportello.http.idempotency import idempotent_route
from sportello.runtime import Context, context_of
from sportello_gateway.kpi import csv_export, service
from sportello_gateway.kpi.repository import GroupBy, KpiRepository, Slice
from sportello_gateway.kpi.schemas import CsatIn, CsatOut, KpiReport
from sportello_gateway.tables import idempotency_keys

# POSTs honour Idempotency-Key: a retried note or tag change is answered again, never applied twice.
router = APIRouter(prefix="/v1", route_class=idempotent_route("gateway", idempotency_keys))
GatewayContext = Annotated[Context, Depends(context_of("gateway"))]
_BAD_PERIOD: dict[int | str, dict[str, Any]] = {
    400: {"description": "'from' is not before 'to', or the period spans more than 366 days"}
}


def _slice(start: datetime, end: datetime, team: str | None, agent: uuid.UUID | None,
           channel: str | None) -> Slice:
    service.check_period(start, end)
    return Slice(start=start, end=end, team=team, agent=str(agent) if agent else None,
                 channel=channel)


From = Annotated[AwareDatetime, Query(alias="from", description="Period start (ISO 8601 with "
                                                                "an offset); hourly buckets "
                                                                "starting at or after it count")]
To = Annotated[AwareDatetime, Query(alias="to", description="Period end, exclusive; at most "
                                                            "366 days after 'from'")]
Team = Annotated[str | None, Query(max_length=200, description="Only this team")]
Agent = Annotated[uuid.UUID | None, Query(description="Only this agent's conversations")]
Channel = Annotated[str | None, Query(max_length=100, description="Only this channel")]


@router.get(
    "/kpis/report",
    response_model=KpiReport,
    tags=["kpis"],
    summary="Every KPI over a period, from the hourly pre-aggregated buckets",
    responses=_BAD_PERIOD,
)
async def kpi_report(
    ctx: GatewayContext,
    _: Annotated[Principal, Depends(require("supervisor"))],
    start: From,
    end: To,
    team: Team = None,
    agent: Agent = None,
    channel: Channel = None,
    group_by: Annotated[GroupBy | None, Query(description="Split the KPIs by this")] = None,
) -> KpiReport:
    where = _slice(start, end, team, agent, channel)
    async with ctx.db.transaction() as tx:
        return await service.report(tx, where, group_by)


@router.get(
    "/kpis/conversations.csv",
    tags=["kpis"],
    summary="One CSV row per conversation opened in the period (streamed)",
    response_class=StreamingResponse,
    responses={200: {"description": "One header line, then one line per conversation",
                     "content": {"text/csv": {"schema": {"type": "string"}}}}, **_BAD_PERIOD},
)
async def kpi_conversations_csv(
    ctx: GatewayContext,
    _: Annotated[Principal, Depends(require("supervisor"))],
    start: From,
    end: To,
    team: Team = None,
    agent: Agent = None,
    channel: Channel = None,
) -> StreamingResponse:
    where = _slice(start, end, team, agent, channel)

    async def body() -> AsyncIterator[str]:
        # The response outlives this function: the transaction (and its server-side cursor)
        # lives inside the stream, read-only.
        async with ctx.db.transaction() as tx:
            async for line in csv_export.lines(KpiRepository(tx.session).stream_facts(where)):
                yield line

    filename = f"conversations-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post(
    "/conversations/{conversation_id}/csat",
    response_model=CsatOut,
    tags=["kpis"],
    summary="Record the customer's satisfaction answer (a second answer replaces the first)",
    responses={404: {"description": "No such conversation"}},
)
async def record_csat(
    conversation_id: uuid.UUID,
    answer: CsatIn,
    ctx: GatewayContext,
    # From an agent (asked in the conversation) or an integration (a survey tool).
    _: Annotated[Principal, Depends(require_any("agent", "integration"))],
) -> CsatOut:
    async with ctx.db.transaction() as tx:
        return await service.record_csat(tx, conversation_id, answer, datetime.now(UTC))
