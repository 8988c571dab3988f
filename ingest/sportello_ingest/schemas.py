"""HTTP contracts of the generic API channel."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

ChannelName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,31}$")]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


class AuthorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: ExternalId
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                   max_length=256)]
    followers: int | None = Field(default=None, ge=0)


class ApiMessageIn(BaseModel):
    """A message pushed by any integration (a chat widget, an app, a replay of archived traffic)."""

    model_config = ConfigDict(extra="forbid")

    channel: ChannelName = Field(examples=["chat"])
    external_id: ExternalId = Field(description="The message's id on its channel; the dedup key.")
    author: AuthorIn
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
    sent_at: AwareDatetime = Field(description="When the author sent it, with a UTC offset.")
    reply_to: ExternalId | None = Field(
        default=None, description="external_id of the message this one answers, if any."
    )
    direction: Literal["inbound", "outbound"] = Field(
        default="inbound",
        description="inbound: from the customer; outbound: the brand's reply made on the channel.",
    )


class MessageAccepted(BaseModel):
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    duplicate: bool = Field(description="True when this (channel, external_id) was already accepted.")
