"""The event envelope: CloudEvents-compatible attributes around a typed, versioned payload.

On Kafka the attributes travel as ``ce_*`` headers (CloudEvents Kafka protocol binding, binary mode)
and the record value is the JSON payload alone, so any CloudEvents-aware consumer can read our topics.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

_REGISTRY: dict[tuple[str, int], type[Event]] = {}


class Event(BaseModel):
    """Base of every event payload. Subclasses declare their type and version once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    event_version: ClassVar[int]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Pydantic creates intermediate classes during generic handling; register only declared ones.
        if "event_type" in cls.__dict__:
            key = (cls.event_type, cls.event_version)
            if key in _REGISTRY and _REGISTRY[key] is not cls:
                raise TypeError(f"event {key} declared twice")
            _REGISTRY[key] = cls


def event_model(event_type: str, version: int) -> type[Event] | None:
    return _REGISTRY.get((event_type, version))


def registered_events() -> dict[tuple[str, int], type[Event]]:
    return dict(_REGISTRY)


def _now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """Metadata every event carries, whatever its payload."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int
    source: str
    occurred_at: datetime = Field(default_factory=_now)
    correlation_id: str
    # The partition key: events about one conversation stay in order on one partition.
    subject: str | None = None
    data: SerializeAsAny[Event]

    @classmethod
    def wrap(
        cls, data: Event, *, source: str, correlation_id: str, subject: str | None = None
    ) -> Envelope:
        return cls(
            type=data.event_type,
            version=data.event_version,
            source=source,
            correlation_id=correlation_id,
            subject=subject,
            data=data,
        )
