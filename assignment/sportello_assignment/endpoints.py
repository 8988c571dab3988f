"""Assignment's HTTP edge: agents and teams (supervisors write, agents read), the queues, and what
people do to routing (assign, transfer, claim, bot hand-off)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status

from sportello.http.auth import Principal, holds, require
from sportello.http.problems import Forbidden, NotFound
from sportello.runtime import Context, context_of
from sportello_assignment import agents, manual
from sportello_assignment.policy import Rules
from sportello_assignment.repository import AssignmentRepository
from sportello_assignment.schemas import (
    AgentChange,
    AgentOut,
    AssignTo,
    ConversationRouting,
    Handoff,
    NewAgent,
    QueuedConversation,
    TeamIn,
    TeamName,
    TeamOut,
    Transfer,
)
from sportello_assignment.settings import AssignmentSettings

agents_router = APIRouter(prefix="/v1/agents", tags=["agents"])
teams_router = APIRouter(prefix="/v1/teams", tags=["agents"])
queue_router = APIRouter(prefix="/v1/queue", tags=["queue"])
routing_router = APIRouter(prefix="/v1/conversations/{conversation_id}", tags=["queue"])
AssignmentContext = Annotated[Context, Depends(context_of("assignment"))]
Reader = Annotated[Principal, Depends(require("agent"))]
Writer = Annotated[Principal, Depends(require("supervisor"))]
Bot = Annotated[Principal, Depends(require("integration"))]
Limit = Annotated[int, Query(ge=1, le=1000)]
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The conversation or agent is not in a state that allows it"}}


def _settings(ctx: Context) -> AssignmentSettings:
    assert isinstance(ctx.settings, AssignmentSettings)
    return ctx.settings


def _rules(ctx: Context) -> Rules:
    return _settings(ctx).rules()


# Agents and teams


@agents_router.post("", response_model=AgentOut, status_code=status.HTTP_201_CREATED,
                    summary="Add an agent; if online, queued conversations may go to them at once",
                    responses={409: {"description": "An agent with that name exists, or going "
                                                    "online outside the agent's shift"}})
async def create_agent(new: NewAgent, ctx: AssignmentContext, _: Writer) -> AgentOut:
    async with ctx.db.transaction() as tx:
        return await agents.create_agent(tx, new, _rules(ctx),
                                         _settings(ctx).assignment_default_capacity)


@agents_router.get("", response_model=list[AgentOut], summary="All agents, by name")
async def list_agents(ctx: AssignmentContext, _: Reader) -> list[AgentOut]:
    async with ctx.db.transaction() as tx:
        return await agents.list_agents(tx)


@agents_router.get("/{agent_id}", response_model=AgentOut, summary="One agent and their load")
async def get_agent(agent_id: uuid.UUID, ctx: AssignmentContext, _: Reader) -> AgentOut:
    async with ctx.db.transaction() as tx:
        return await agents.get_agent(tx, agent_id)


@agents_router.patch("/{agent_id}", response_model=AgentOut,
                     summary="Change skills, capacity, shifts or presence; room drains the queue",
                     responses={409: {"description": "Going online outside the agent's shift"}})
async def update_agent(agent_id: uuid.UUID, change: AgentChange, ctx: AssignmentContext,
                       caller: Reader) -> AgentOut:
    # Agents set their own presence from the console; skills and capacity are a supervisor's.
    if change.model_fields_set - {"presence"} and not holds(caller, "supervisor"):
        raise Forbidden("Changing skills, capacity, team or shifts needs the 'supervisor' role.")
    async with ctx.db.transaction() as tx:
        return await agents.update_agent(tx, agent_id, change, _rules(ctx))


@agents_router.post("/{agent_id}/heartbeat", response_model=AgentOut,
                    summary="The agent's console is in use (keeps an online agent from auto-away)")
async def heartbeat(agent_id: uuid.UUID, ctx: AssignmentContext, _: Reader) -> AgentOut:
    async with ctx.db.transaction() as tx:
        return await agents.heartbeat(tx, agent_id)


@agents_router.get("/{agent_id}/worklist", response_model=list[QueuedConversation],
                   summary="The agent's conversations awaiting their answer, the next one first")
async def get_worklist(agent_id: uuid.UUID, ctx: AssignmentContext, _: Reader,
                       limit: Limit = 100) -> list[QueuedConversation]:
    """In the policy's queue order (under ``ours``: class, queue deadline, band, then the time
    it was assigned), so the priority that ordered the queue also orders the agent's own list:
    a conversation taken early for its priority is not answered after older, less pressing ones
    the agent took later. The console's "next" follows it."""
    async with ctx.db.transaction() as tx:
        repo = AssignmentRepository(tx.session)
        if await repo.get_agent(agent_id) is None:
            raise NotFound(f"No agent {agent_id}.")
        rows = await repo.worklist(agent_id, _rules(ctx).policy, limit)
        return [QueuedConversation.model_validate(row) for row in rows]


@teams_router.put("/{name}", response_model=TeamOut,
                  summary="Create or replace a team and the brand accounts it answers")
async def put_team(name: Annotated[TeamName, Path()], team: TeamIn, ctx: AssignmentContext,
                   _: Writer) -> TeamOut:
    async with ctx.db.transaction() as tx:
        return await agents.put_team(tx, name, team)


@teams_router.get("", response_model=list[TeamOut], summary="All teams")
async def list_teams(ctx: AssignmentContext, _: Reader) -> list[TeamOut]:
    async with ctx.db.transaction() as tx:
        return await agents.list_teams(tx)


# Queues


@queue_router.get("", response_model=list[QueuedConversation],
                  summary="Waiting conversations in the order they will be taken")
async def get_queue(ctx: AssignmentContext, _: Reader, limit: Limit = 100
                    ) -> list[QueuedConversation]:
    async with ctx.db.transaction() as tx:
        rows = await AssignmentRepository(tx.session).queue(_rules(ctx).policy, limit)
        return [QueuedConversation.model_validate(row) for row in rows]


@queue_router.get("/escalated", response_model=list[QueuedConversation],
                  summary="The supervisors' queue: unanswered conversations with an SLA warning")
async def get_escalated(ctx: AssignmentContext, _: Writer, limit: Limit = 100
                        ) -> list[QueuedConversation]:
    async with ctx.db.transaction() as tx:
        rows = await AssignmentRepository(tx.session).escalated(limit)
        return [QueuedConversation.model_validate(row) for row in rows]


# Actions on a conversation's routing


@routing_router.post("/assign", response_model=ConversationRouting, responses=_CONFLICT,
                     summary="A supervisor gives the conversation to an agent with room")
async def assign(conversation_id: uuid.UUID, body: AssignTo, ctx: AssignmentContext,
                 _: Writer) -> ConversationRouting:
    async with ctx.db.transaction() as tx:
        return await manual.assign_to(tx, conversation_id, body.agent_id, _rules(ctx))


@routing_router.post("/claim", response_model=ConversationRouting, responses=_CONFLICT,
                     summary="An agent takes a waiting conversation from the queue")
async def claim(conversation_id: uuid.UUID, body: AssignTo, ctx: AssignmentContext,
                _: Reader) -> ConversationRouting:
    async with ctx.db.transaction() as tx:
        return await manual.assign_to(tx, conversation_id, body.agent_id, _rules(ctx), "claimed",
                                      only_queued=True)


@routing_router.post("/transfer", response_model=ConversationRouting, responses=_CONFLICT,
                     summary="Hand the conversation to another agent, or to a team's queue")
async def transfer(conversation_id: uuid.UUID, body: Transfer, ctx: AssignmentContext,
                   _: Reader) -> ConversationRouting:
    async with ctx.db.transaction() as tx:
        return await manual.transfer(tx, conversation_id, body, _rules(ctx))


@routing_router.post("/handoff", response_model=ConversationRouting, responses=_CONFLICT,
                     summary="A bot hands its conversation over to the human queue")
async def handoff(conversation_id: uuid.UUID, body: Handoff, ctx: AssignmentContext,
                  _: Bot) -> ConversationRouting:
    async with ctx.db.transaction() as tx:
        return await manual.handoff(tx, conversation_id, body, _rules(ctx))
