"""Priority as a runnable component: a consumer of message.received, no HTTP API of its own yet."""

from pathlib import Path

from sportello.runtime import Component
from sportello_priority.handlers import subscriptions
from sportello_priority.tables import metadata

COMPONENT = Component(
    name="priority",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    subscriptions=subscriptions,
)
