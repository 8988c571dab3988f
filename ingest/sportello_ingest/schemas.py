"""HTTP contracts of ingest's API: the generic channel, replies, conversations, customers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from sportello.contracts import ConversationStatus
from sportello.values import INT32_MAX, plausible_time, storable_text

ChannelName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,31}$")]
# Every text we store refuses what PostgreSQL cannot hold (NUL, unpaired surrogates): a 422 naming the
# field, never a 500 from the database.
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256),
                       AfterValidator(storable_text)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256),
                 AfterValidator(storable_text)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000),
                 AfterValidator(storable_text)]
MessageTime = Annotated[AwareDatetime, AfterValidator(plausible_time)]
Signature = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
                      AfterValidator(storable_text)]
Flag = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Visibility = Literal["public", "private"]


class AuthorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: ExternalId
    display_name: Name
    handle: Name | None = None
    followers: int | None = Field(default=None, ge=0, le=INT32_MAX)
    verified: bool = False


class ApiMessageIn(BaseModel):
    """A message pushed by any integration (a chat widget, an app, a replay of archived traffic)."""

    model_config = ConfigDict(extra="forbid")

    channel: ChannelName = Field(examples=["chat"])
    account: ExternalId | None = Field(
        default=None, description="The brand account that received it; defaults to the channel name.")
    external_id: ExternalId = Field(description="The message's id on its channel; the dedup key.")
    author: AuthorIn
    text: Text
    sent_at: MessageTime = Field(description="When the author sent it, with a UTC offset (1970-2199).")
    reply_to: ExternalId | None = Field(
        default=None, description="external_id of the message this one answers, if any."
    )
    direction: Literal["inbound", "outbound"] = Field(
        default="inbound",
        description="inbound: from the customer; outbound: the brand's reply made on the channel.",
    )
    visibility: Visibility = "public"
    flags: list[Flag] = Field(default_factory=list, max_length=16,
                              description="Hints passed downstream, e.g. spam, abusive.")
    recipient_id: ExternalId | None = Field(
        default=None, description="For an outbound message: the customer's id it is addressed to.")


class MessageAccepted(BaseModel):
    outcome: Literal["accepted", "duplicate", "blocked", "ignored"]
    message_id: uuid.UUID | None
    conversation_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    duplicate: bool = Field(description="True when this (channel, external_id) was already accepted.")


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text
    visibility: Visibility = Field(
        default="private",
        description="public: answer the customer's post in public; private: a direct message (for a "
                    "Facebook or Instagram comment without a private thread yet, the one private reply).")
    agent_id: Name | None = None
    signature: Signature | None = Field(
        default=None, examples=["GR"],
        description="The agent's sign-off, added the way the channel expects: ` ^GR` on X (the care "
                    "teams' convention), a closing line on e-mail, `— GR` elsewhere. It counts toward "
                    "the channel's length limit.")
    in_reply_to_message_id: uuid.UUID | None = Field(
        default=None, description="The message to answer; defaults to the customer's latest one.")
    template: dict[str, Any] | None = Field(
        default=None, description="WhatsApp: a message template (name, language, components), required "
                                  "outside the 24-hour customer service window.")


class MessageOut(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    channel: str
    account: str
    external_id: str | None
    direction: str
    visibility: str
    author_id: str
    text: str
    sent_at: datetime
    received_at: datetime
    reply_to: str | None
    linked_message_id: uuid.UUID | None
    flags: list[str]
    subject: str | None
    delivery_status: str
    delivery_error: str | None
    agent_id: str | None


class ConversationStatusOut(BaseModel):
    conversation_id: uuid.UUID
    status: ConversationStatus
    changed: bool
    snoozed_until: datetime | None = None


MAX_SNOOZE = timedelta(days=365)


def _ahead(until: datetime) -> datetime:
    now = datetime.now(UTC)
    if until <= now:
        raise ValueError("must be in the future")
    if until > now + MAX_SNOOZE:
        raise ValueError("must be within a year")
    return until


class SnoozeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"until": "2026-11-25T09:00:00Z"}, {"until": None}]})

    until: Annotated[AwareDatetime, AfterValidator(_ahead)] | None = Field(
        default=None, description="When it opens again by itself (at most a year ahead); null or "
                                  "absent: when the customer writes, or by hand")


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: ChannelName = Field(examples=["email"])
    external_id: ExternalId = Field(examples=["ann@example.com"], description="An e-mail address is lowercased.")
    handle: Name | None = None
    verified: bool | None = Field(
        default=None,
        description="true: proven to be this customer's (e.g. confirmed by the CRM); if another customer has it "
                    "verified too, that customer is merged into this one automatically. false: only claimed "
                    "(e.g. typed into a form); if another customer has it, a merge suggestion is made instead "
                    "(202). Omitted: linked as verified when nobody has it, 409 when somebody else does.")


class IdentityOut(BaseModel):
    platform: str
    external_id: str
    handle: str | None
    source: str
    verified: bool = Field(description="Proven to be theirs; a claimed identity merges nobody automatically.")
    created_at: datetime


class CustomerOut(BaseModel):
    id: uuid.UUID
    display_name: str
    followers: int | None
    verified: bool
    blocked: bool
    blocked_reason: str | None
    merged_into: uuid.UUID | None = Field(
        default=None, description="Set when this customer was merged into another: follow it to the survivor.")
    identities: list[IdentityOut]


class IdentityKey(BaseModel):
    platform: str
    external_id: str


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    other_customer_id: uuid.UUID = Field(description="The customer merged into this one (it stops existing on "
                                                     "its own; an unmerge brings it back).")
    reason: Name


class MergeOut(BaseModel):
    id: uuid.UUID
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    automatic: bool
    reason: str
    actor: str
    identities_moved: list[IdentityKey]
    at: datetime
    undone_at: datetime | None
    undone_by: str | None


class SuggestionOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID = Field(description="Accepting merges other_customer_id into this customer.")
    other_customer_id: uuid.UUID
    evidence: dict[str, Any] = Field(description="What matched, and why it is too weak to merge on its own.")
    status: Literal["pending", "accepted", "rejected"]
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    merge_id: uuid.UUID | None


class LinkOut(CustomerOut):
    outcome: Literal["linked", "already_linked", "merged", "claimed"] = Field(
        description="linked: the identity was free; merged: another customer had it verified and was merged "
                    "into this one (see merge); claimed: another customer had only claimed it: it moved here and "
                    "a merge suggestion was made (see suggestion).")
    merge: MergeOut | None = None
    suggestion: SuggestionOut | None = None


class AuditOut(BaseModel):
    id: int
    customer_id: uuid.UUID
    action: str
    actor: str
    detail: dict[str, Any]
    at: datetime


class CustomerConversationOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID = Field(description="The customer it was opened for: this one, or one merged into it.")
    account: str
    channel: str
    status: str
    opened_at: datetime
    last_message_at: datetime
    resolved_at: datetime | None


class BlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Name | None = None
