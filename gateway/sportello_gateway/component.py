"""The gateway as a runnable component: its read-model schema, the API routes, one subscription."""

from pathlib import Path

from sportello.runtime import Component
from sportello_gateway.endpoints import router
from sportello_gateway.handlers import subscriptions
from sportello_gateway.tables import metadata

COMPONENT = Component(
    name="gateway",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    routers=(router,),
    subscriptions=subscriptions,
)
