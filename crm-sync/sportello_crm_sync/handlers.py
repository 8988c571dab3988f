"""crm-sync's bus edge: one transaction per MessageReceived (opened by ``subscription``)."""

from __future__ import annotations

from collections.abc import Mapping

from sportello.bus.base import Subscription
from sportello.contracts import Envelope, Event, MessageReceived
from sportello.db import Tx
from sportello.handling import EventHandler, subscription
from sportello.runtime import Context
from sportello.topics import MESSAGES_RECEIVED, Groups
from sportello_crm_sync import service
from sportello_crm_sync.adapters import CrmAdapter
from sportello_crm_sync.adapters.generic_rest import GenericRestCrm
from sportello_crm_sync.settings import CrmSyncSettings

_ADAPTER = "crm_adapter"


def routes(ctx: Context) -> Mapping[type[Event], EventHandler]:
    # Built per context, not a module-level ROUTES: the handler needs the context's CRM client.
    async def on_message_received(tx: Tx, event: MessageReceived, envelope: Envelope) -> None:
        await service.mirror_message(tx, event, envelope.id, adapter_of(ctx))

    return {MessageReceived: on_message_received}


def subscriptions(ctx: Context) -> list[Subscription]:
    return [subscription(ctx, Groups.CRM_SYNC, (MESSAGES_RECEIVED,), routes(ctx))]


def adapter_of(ctx: Context) -> CrmAdapter | None:
    """The process's CRM client; None when no CRM is configured.

    Built on first use, inside the running event loop, and kept in ``ctx.state`` so its connection
    pool is shared by every message. Components have no stop hook, so the client is never closed
    explicitly: it lives exactly as long as the process.
    """
    settings = ctx.settings
    assert isinstance(settings, CrmSyncSettings), "COMPONENT declares settings_cls=CrmSyncSettings"
    if not settings.crm_url:
        return None
    adapter: CrmAdapter | None = ctx.state.get(_ADAPTER)
    if adapter is None:
        adapter = GenericRestCrm(settings.crm_url, settings.crm_token,
                                 settings.crm_timeout_seconds)
        ctx.state[_ADAPTER] = adapter
    return adapter
