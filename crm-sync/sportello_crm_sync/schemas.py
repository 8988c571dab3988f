"""HTTP contracts of crm-sync's API: webhook subscriptions and their delivery log, the CRM queue,
and the CRM's inbound contact updates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from sportello_crm_sync.webhooks.catalogue import EVENT_TYPES


def _known_types(types: list[str]) -> list[str]:
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown event types {unknown}; see GET /v1/webhooks/event-types")
    return sorted(set(types))


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl
    event_types: list[str] = Field(min_length=1, examples=[["conversation.assigned"]])
    description: str | None = Field(default=None, max_length=500)

    _types = field_validator("event_types")(_known_types)


class SubscriptionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl | None = None
    event_types: list[str] | None = Field(default=None, min_length=1)
    description: str | None = Field(default=None, max_length=500)
    status: Literal["active", "paused"] | None = Field(
        default=None, description="paused: webhooks queue but are not sent; active resumes "
                                  "(also re-enables a subscription disabled by a 410)")

    @field_validator("event_types")
    @classmethod
    def _types(cls, types: list[str] | None) -> list[str] | None:
        return None if types is None else _known_types(types)


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    status: str
    disabled_reason: str | None
    previous_expires_at: datetime | None = Field(
        description="While set and in the future, the previous secret signs too (rotation)")
    created_at: datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="whsec_…: shown once; verify webhook-signature with it")


class Rotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_seconds: int | None = Field(default=None, ge=0, le=7 * 86_400,
                                      description="How long the old secret keeps signing")


class Rotated(BaseModel):
    secret: str
    previous_expires_at: datetime


class Attempt(BaseModel):
    attempt: int
    at: datetime
    outcome: str
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: int
    kind: str = Field(description="The webhook's event type, or the CRM job's kind")
    subscription_id: uuid.UUID | None
    webhook_id: str | None
    state: Literal["pending", "done", "failed", "stopped"]
    attempts: int
    next_attempt_at: datetime | None = Field(
        description="When it is tried next; null while it waits behind an earlier one of its lane")
    last_error: str | None
    created_at: datetime
    done_at: datetime | None
    payload: dict[str, Any]
    log: list[Attempt] | None = None


class EventTypeOut(BaseModel):
    type: str
    description: str


class CrmStatus(BaseModel):
    crm: str | None
    breaker: Literal["closed", "open", "half_open"] | None
    pending: int
    oldest_pending_at: datetime | None


class ContactUpdateIn(BaseModel):
    """What a CRM tells us about a contact. Identify it by ``customer_id`` (Sportello's id, which
    crm-sync stores on the contact) or by ``contact_id`` (the CRM's own id)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: uuid.UUID | None = None
    contact_id: str | None = Field(default=None, min_length=1, max_length=200)
    tier: str | None = Field(default=None, max_length=50)
    vip: bool = False
    do_not_contact: bool = False
    owner: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(description="When the CRM changed it: an older update is ignored")


class ContactUpdateOut(BaseModel):
    customer_id: uuid.UUID
    applied: bool = Field(description="False when a newer update was already applied")
    sequence: int
