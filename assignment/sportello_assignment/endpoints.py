"""Assignment's HTTP edge: agents (supervisors write, agents read) and the queue."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from sportello.http.auth import Principal, require
from sportello.runtime import Context, context_of
from sportello_assignment import service
from sportello_assignment.schemas import AgentChange, AgentOut, NewAgent, QueuedConversation

agents_router = APIRouter(prefix="/v1/agents", tags=["agents"])
queue_router = APIRouter(prefix="/v1/queue", tags=["queue"])
AssignmentContext = Annotated[Context, Depends(context_of("assignment"))]
Reader = Annotated[Principal, Depends(require("agent"))]
Writer = Annotated[Principal, Depends(require("supervisor"))]


@agents_router.post("", response_model=AgentOut, status_code=status.HTTP_201_CREATED,
                    summary="Add an agent; if online, queued conversations may go to them at once",
                    responses={409: {"description": "An agent with that name exists"}})
async def create_agent(new: NewAgent, ctx: AssignmentContext, _: Writer) -> AgentOut:
    async with ctx.db.transaction() as tx:
        return await service.create_agent(tx, new)


@agents_router.get("", response_model=list[AgentOut], summary="All agents, by name")
async def list_agents(ctx: AssignmentContext, _: Reader) -> list[AgentOut]:
    async with ctx.db.transaction() as tx:
        return await service.list_agents(tx)


@agents_router.get("/{agent_id}", response_model=AgentOut, summary="One agent and their load")
async def get_agent(agent_id: uuid.UUID, ctx: AssignmentContext, _: Reader) -> AgentOut:
    async with ctx.db.transaction() as tx:
        return await service.get_agent(tx, agent_id)


@agents_router.patch("/{agent_id}", response_model=AgentOut,
                     summary="Change capacity and/or presence; freed capacity drains the queue")
async def update_agent(agent_id: uuid.UUID, change: AgentChange, ctx: AssignmentContext,
                       _: Writer) -> AgentOut:
    async with ctx.db.transaction() as tx:
        return await service.update_agent(tx, agent_id, change)


@queue_router.get("", response_model=list[QueuedConversation],
                  summary="Queued conversations in queue order (highest priority, then oldest)")
async def get_queue(ctx: AssignmentContext, _: Reader,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[QueuedConversation]:
    async with ctx.db.transaction() as tx:
        return await service.queue(tx, limit)
