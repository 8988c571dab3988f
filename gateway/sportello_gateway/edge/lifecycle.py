"""Start and stop the edge with the gateway component, and fit it into the app.

In the API roles (``api``, ``all``): the live stream's hub and its tap on the bus, and, when upstream
URLs are configured, the pooled client with the upstreams' routes. The proxy route goes after every
other route (the gateway's own routes win) and ``/openapi.json`` serves the merged document.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import structlog
from fastapi import FastAPI

from sportello.bus.kafka import KafkaBus
from sportello.runtime import Context
from sportello_gateway.edge.hub import StreamHub
from sportello_gateway.edge.openapi_merge import MergedOpenApi
from sportello_gateway.edge.proxy import UPSTREAMS_STATE, ProxyRoute
from sportello_gateway.edge.scope import ScopeIndex
from sportello_gateway.edge.stream import HUB_STATE
from sportello_gateway.edge.taps import KafkaTap, subscribe_in_process
from sportello_gateway.edge.upstreams import Upstreams
from sportello_gateway.settings import GatewaySettings

log = structlog.get_logger(__name__)

_TAP_STATE = "edge.kafka_tap"
_SIGNALS_STATE = "edge.previous_signal_handlers"


async def start_edge(ctx: Context) -> None:
    settings = ctx.settings
    assert isinstance(settings, GatewaySettings)
    if settings.role not in ("api", "all"):
        return
    hub = StreamHub(ScopeIndex(ctx.db, size=settings.gateway_stream_scope_cache_size),
                    queue_size=settings.gateway_stream_queue_size,
                    replay_size=settings.gateway_stream_replay_size)
    ctx.state[HUB_STATE] = hub
    if isinstance(ctx.bus, KafkaBus):
        tap = KafkaTap(settings, hub.publish, bus_ready=ctx.bus.ready)
        tap.start()
        ctx.state[_TAP_STATE] = tap
    else:
        subscribe_in_process(ctx.bus, hub.publish)
    ctx.state[_SIGNALS_STATE] = _close_streams_on_exit_signals(hub)
    if settings.gateway_upstreams:
        upstreams = Upstreams(settings)
        await upstreams.start()
        ctx.state[UPSTREAMS_STATE] = upstreams
        log.info("gateway.edge.proxying", upstreams=sorted(settings.gateway_upstreams))


async def stop_edge(ctx: Context) -> None:
    hub: StreamHub | None = ctx.state.get(HUB_STATE)
    if hub is not None:
        hub.close()
    for sig, handler in ctx.state.pop(_SIGNALS_STATE, {}).items():
        signal.signal(sig, handler)
    tap: KafkaTap | None = ctx.state.pop(_TAP_STATE, None)
    if tap is not None:
        await tap.stop()
    upstreams: Upstreams | None = ctx.state.pop(UPSTREAMS_STATE, None)
    if upstreams is not None:
        await upstreams.stop()


def fit_edge(app: FastAPI) -> None:
    app.router.routes.append(ProxyRoute())

    def upstreams() -> Upstreams | None:
        contexts: dict[str, Context] = getattr(app.state, "contexts", {})
        ctx = contexts.get("gateway")
        return ctx.state.get(UPSTREAMS_STATE) if ctx is not None else None

    app.openapi = MergedOpenApi(app.openapi, upstreams)  # type: ignore[method-assign]


Handler = Callable[[int, FrameType | None], Any] | int | None


def _close_streams_on_exit_signals(hub: StreamHub) -> dict[int, Handler]:
    """Uvicorn waits for open responses to finish before it runs the shutdown, and a live stream
    never finishes: on SIGTERM/SIGINT the streams must end first, or every stop would wait out the
    whole graceful-shutdown timeout. Chains the server's handlers (only when one is installed: a
    callable that is not Python's default), and returns them so they can be put back."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    loop = asyncio.get_running_loop()
    previous: dict[int, Handler] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(sig)
        if not callable(handler) or handler is signal.default_int_handler:
            continue

        def chained(number: int, frame: FrameType | None,
                    server_handler: Callable[[int, FrameType | None], Any] = handler) -> None:
            loop.call_soon_threadsafe(hub.close)
            server_handler(number, frame)

        previous[sig] = handler
        signal.signal(sig, chained)
    return previous
