"""crm-sync as a runnable component: schema, migrations, the API, two subscriptions, and the
dispatcher that works the delivery queue."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable
from pathlib import Path

from sportello.runtime import Component, Context
from sportello_crm_sync.adapters import build_adapter
from sportello_crm_sync.crm_sink import CrmSink
from sportello_crm_sync.delivery.dispatcher import Dispatcher, Sink
from sportello_crm_sync.endpoints import crm_router, webhooks_router
from sportello_crm_sync.handlers import subscriptions
from sportello_crm_sync.settings import CrmSyncSettings
from sportello_crm_sync.tables import metadata
from sportello_crm_sync.webhooks.sink import WebhookSink


async def run_dispatcher(ctx: Context) -> None:
    """Build the sinks inside the running loop (their HTTP pools), work the queue until cancelled
    (graceful shutdown: the job in flight rolls back and is taken again by the next start)."""
    settings = ctx.settings
    assert isinstance(settings, CrmSyncSettings), "COMPONENT declares settings_cls=CrmSyncSettings"
    webhooks = WebhookSink(settings)
    sinks: list[Sink] = [webhooks]
    adapter = build_adapter(settings)
    if adapter is not None:
        crm = CrmSink(adapter, settings)
        ctx.state["crm_sink"] = crm
        sinks.append(crm)
    dispatcher = Dispatcher(ctx.db, sinks, workers=settings.delivery_workers,
                            poll_seconds=settings.delivery_poll_seconds)
    ctx.state["dispatcher"] = dispatcher
    try:
        await dispatcher.run()
    finally:
        with contextlib.suppress(Exception):
            await webhooks.aclose()
        if adapter is not None:
            with contextlib.suppress(Exception):
                await adapter.aclose()


def _background(ctx: Context) -> list[Awaitable[None]]:
    return [run_dispatcher(ctx)]


COMPONENT = Component(
    name="crm-sync",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    settings_cls=CrmSyncSettings,
    routers=(webhooks_router, crm_router),
    subscriptions=subscriptions,
    background=_background,
)
