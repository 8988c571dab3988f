"""HTTP contracts of agents and the queue (also the shape of the seed setting)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, model_validator

Presence = Literal["online", "away", "offline"]
Capacity = Annotated[int, Field(ge=1, le=50, description="Max concurrent conversations.")]


class NewAgent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    team: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    capacity: Capacity
    presence: Presence


# SPORTELLO_ASSIGNMENT_SEED_AGENTS is validated with the same rules as POST /v1/agents.
SeedAgents = TypeAdapter(list[NewAgent])


class AgentChange(BaseModel):
    """A partial update; omitted (or null) fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    capacity: Capacity | None = None
    presence: Presence | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if self.capacity is None and self.presence is None:
            raise ValueError("give capacity and/or presence")
        return self


class AgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    team: str
    capacity: int
    presence: Presence
    active_count: int = Field(description="Conversations the agent currently owns.")


class QueuedConversation(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    priority: float
    queued_at: datetime
