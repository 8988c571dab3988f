"""HTTP models of canned responses."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from sportello.values import NO_NUL_PATTERN, storable_text

SHORTCUT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,49}$"
LANGUAGE_PATTERN = r"^[a-z]{2}$"  # ISO 639-1, lower case

def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Shortcut = Annotated[str, StringConstraints(pattern=SHORTCUT_PATTERN), Field(
    description="What an agent types to find it, e.g. `refund-delay`.",
    examples=["refund-delay"])]
Title = Annotated[str, StringConstraints(min_length=1, max_length=120, strip_whitespace=True),
                  AfterValidator(storable_text)]
# Not stripped: leading line breaks and indentation are the author's layout.
Body = Annotated[str, StringConstraints(min_length=1, max_length=5_000),
                 AfterValidator(storable_text), AfterValidator(_not_blank), Field(
    description="The reply. Placeholders: `{{customer.name}}`, `{{agent.name}}`, "
                "`{{conversation.channel}}`.")]
Team = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NO_NUL_PATTERN),
                 AfterValidator(storable_text)]
Language = Annotated[str, StringConstraints(pattern=LANGUAGE_PATTERN),
                     Field(description="ISO 639-1, e.g. `en`.")]


class CannedIn(BaseModel):
    shortcut: Shortcut
    title: Title
    text: Body
    team: Team | None = Field(default=None, description="Null: offered to every team.")
    language: Language | None = None

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{
        "shortcut": "refund-delay", "title": "Refund is on its way",
        "text": "Hi {{customer.name}}, your refund left us today. {{agent.name}}",
        "team": "care", "language": "en"}]}}


class CannedPatch(BaseModel):
    """Only the fields sent change; `team` or `language` sent as null clear them."""

    shortcut: Shortcut | None = None
    title: Title | None = None
    text: Body | None = None
    team: Team | None = None
    language: Language | None = None

    model_config = {"extra": "forbid"}

    @model_validator(mode="after")
    def _required_fields_not_cleared(self) -> CannedPatch:
        cleared = sorted(name for name in ("shortcut", "title", "text")
                         if name in self.model_fields_set and getattr(self, name) is None)
        if cleared:
            raise ValueError(f"cannot be null: {', '.join(cleared)}")
        return self

    def changes(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class CannedOut(BaseModel):
    id: uuid.UUID
    shortcut: str
    title: str
    text: str
    team: str | None
    language: str | None
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime


class CannedPage(BaseModel):
    items: list[CannedOut]


class RenderIn(BaseModel):
    conversation_id: uuid.UUID
    model_config = {"extra": "forbid"}


class RenderOut(BaseModel):
    canned_response_id: uuid.UUID
    conversation_id: uuid.UUID
    text: str
    missing: list[str] = Field(description=(
        "Placeholders the conversation has no value for yet (e.g. no agent assigned); they "
        "were left empty."))
