"""The correlation id of the work in progress, carried across HTTP, the outbox and Kafka."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

import structlog

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def current_correlation_id() -> str:
    """The id bound to this task, or a fresh one for work that started without any."""
    value = _correlation_id.get()
    return value if value is not None else new_correlation_id()


def bind_correlation_id(value: str) -> None:
    _correlation_id.set(value)
    structlog.contextvars.bind_contextvars(correlation_id=value)
