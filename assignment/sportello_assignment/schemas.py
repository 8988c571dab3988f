"""HTTP contracts of agents, teams, the queues and conversation actions (also the seed's shape)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, model_validator

from sportello.calendar import BusinessCalendar
from sportello.contracts import Presence

Capacity = Annotated[int, Field(ge=1, le=50, description="Max concurrent conversations.")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
TeamName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Skill = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1,
                                         max_length=64)]
Skills = Annotated[list[Skill], Field(max_length=50)]


class AgentSkills(BaseModel):
    languages: Skills | None = Field(default=None, description="ISO 639-1 codes; empty: any")
    channels: Skills | None = Field(default=None, description="e.g. x, whatsapp, chat; empty: all")
    topics: Skills | None = Field(
        default=None, description="Intents the agent handles (e.g. lead, legal_threat); empty: all")


class NewAgent(AgentSkills):
    model_config = ConfigDict(extra="forbid")

    name: Name
    team: TeamName
    capacity: Capacity | None = Field(
        default=None, description="Per channel; default SPORTELLO_ASSIGNMENT_DEFAULT_CAPACITY (7)")
    channel_capacity: dict[Skill, Capacity] = Field(
        default_factory=dict, description="Per-channel exceptions, e.g. {\"email\": 15}")
    presence: Presence = "offline"
    shifts: BusinessCalendar | None = Field(
        default=None, description="The agent's working hours; outside them the agent is offline")


# SPORTELLO_ASSIGNMENT_SEED_AGENTS is validated with the same rules as POST /v1/agents.
SeedAgents = TypeAdapter(list[NewAgent])


class AgentChange(AgentSkills):
    """A partial update; omitted (or null) fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    team: TeamName | None = None
    capacity: Capacity | None = None
    channel_capacity: dict[Skill, Capacity] | None = None
    presence: Presence | None = None
    shifts: BusinessCalendar | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if not self.model_fields_set or all(getattr(self, f) is None for f in self.model_fields_set):
            raise ValueError("give at least one field to change")
        return self


class AgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    team: str
    capacity: int
    channel_capacity: dict[str, int]
    languages: list[str]
    channels: list[str]
    topics: list[str]
    presence: Presence
    presence_changed_at: datetime
    last_seen_at: datetime
    shifts: dict[str, Any] | None
    active_count: int = Field(description="Conversations the agent currently owns.")
    active: dict[str, int] = Field(description="Open conversations per channel.")
    load: float = Field(description="Weighted load: the sum of 1/capacity of each open conversation")


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accounts: Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=128)]],
                        Field(max_length=200, description="Brand accounts this team answers")]


class TeamOut(TeamIn):
    name: str


class QueuedConversation(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    conversation_id: uuid.UUID = Field(validation_alias="id")
    customer_id: uuid.UUID
    status: str
    channel: str
    team: str | None
    language: str | None
    topic: str | None
    priority: float
    sla_deadline: datetime | None
    queued_at: datetime | None
    agent_id: uuid.UUID | None = Field(description="The owner (assigned) or the last owner")
    reserved_for: uuid.UUID | None
    reserved_until: datetime | None
    widened: bool
    escalated_at: datetime | None


class AssignTo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: uuid.UUID


class Transfer(BaseModel):
    """To an agent (assigned at once if they have room) or to a team's queue."""

    model_config = ConfigDict(extra="forbid")

    agent_id: uuid.UUID | None = None
    team: TeamName | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.agent_id is None) == (self.team is None):
            raise ValueError("give exactly one of agent_id and team")
        return self


class Handoff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(max_length=4000)] | None = Field(
        default=None, description="The bot's summary for the agent who takes over")


class ConversationRouting(BaseModel):
    """Where a conversation stands after an action."""

    conversation_id: uuid.UUID
    status: str
    agent_id: uuid.UUID | None
