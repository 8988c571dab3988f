"""The gateway as a runnable component: its read-model schema, the API routes, one subscription."""

from pathlib import Path

from sportello.runtime import Component
from sportello_gateway.canned.endpoints import router as canned_router
from sportello_gateway.edge.lifecycle import fit_edge, start_edge, stop_edge
from sportello_gateway.edge.stream import router as stream_router
from sportello_gateway.endpoints import router
from sportello_gateway.handlers import subscriptions
from sportello_gateway.kpi.endpoints import router as kpi_router
from sportello_gateway.kpi.handlers import subscriptions as kpi_subscriptions
from sportello_gateway.settings import GatewaySettings
from sportello_gateway.tables import metadata

COMPONENT = Component(
    name="gateway",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    settings_cls=GatewaySettings,
    routers=(router, kpi_router, canned_router, stream_router),
    subscriptions=lambda ctx: [*subscriptions(ctx), *kpi_subscriptions(ctx)],
    # The edge: the live stream and, with upstream URLs configured, the proxy and merged OpenAPI.
    on_start=start_edge,
    on_stop=stop_edge,
    on_app=fit_edge,
)
