"""HTTP contracts of priority's API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from sportello.contracts import PriorityFactor, SentimentLabel
from sportello_priority.intents import IntentName
from sportello_priority.weights import Weights


class WeightsProfileOut(BaseModel):
    name: str = Field(description="default, brand:<account> or team:<name>")
    weights: Weights
    updated_by: str | None = Field(description="Who last changed it; null for the built-in default")
    updated_at: datetime | None


class WeightsChanged(WeightsProfileOut):
    conversations_to_recompute: int = Field(
        description="Open conversations queued to be re-prioritised with the new weights")


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sentiment: SentimentLabel | None = None
    intent: IntentName | None = None


class LabelOut(BaseModel):
    message_id: uuid.UUID
    text: str
    sentiment: SentimentLabel | None
    intent: str | None
    corrected_by: str
    corrected_at: datetime
    revision: int


class LabelPage(BaseModel):
    items: list[LabelOut]
    next_after: uuid.UUID | None = Field(description="Pass as `after` for the next page")


class MessageScoreOut(BaseModel):
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    score: float
    sentiment: SentimentLabel
    sentiment_score: float
    probabilities: dict[SentimentLabel, float] | None
    corrected_sentiment: SentimentLabel | None
    intent: str | None
    urgency: float | None
    breakdown: list[PriorityFactor]
    scorer: str


class PressEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=500, description="e.g. 'tech reporter'")


class PressEntryOut(BaseModel):
    handle: str
    note: str | None
    source: Literal["api", "settings"]


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    priority: float = Field(ge=0, le=100, allow_inf_nan=False,
                            description="The conversation's priority while the override is in force")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = \
        Field(description="Why, for the people who read the breakdown", examples=["journalist"])
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the model takes over again; none: until cleared")

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value <= datetime.now(UTC):
            raise ValueError("expires_at must be in the future")
        return value


class OverrideOut(BaseModel):
    conversation_id: uuid.UUID
    priority: float
    reason: str
    set_by: str
    set_at: datetime
    expires_at: datetime | None
