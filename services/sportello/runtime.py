"""The composition root shared by every process.

A service is a :class:`Component` (its schema, migrations, routers, subscriptions). A process runs
one component (production: one service per pod) or all five (the embedded mode) through the same
:class:`Runtime`: engine and bus are built in the FastAPI lifespan, never at import time, and torn
down in reverse order on shutdown so a SIGTERM loses nothing in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from sportello.bus.base import Bus, Subscription
from sportello.db.database import Database, create_engine
from sportello.db.migrations import upgrade
from sportello.db.relay import OutboxRelay
from sportello.http.auth import authenticator_from
from sportello.http.middleware import install_observability
from sportello.http.openapi import document_security
from sportello.http.problems import install_problem_handlers, problem_response
from sportello.http.rate_limit import install_rate_limits
from sportello.observability.logging import configure_logging
from sportello.settings import ServiceSettings

log = structlog.get_logger(__name__)


@dataclass
class Context:
    """What a component's edges need at run time."""

    name: str
    settings: ServiceSettings
    db: Database
    bus: Bus
    relay: OutboxRelay
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Component:
    name: str
    metadata: MetaData
    migrations: Path
    settings_cls: type[ServiceSettings] = ServiceSettings
    routers: Sequence[APIRouter] = ()
    subscriptions: Callable[[Context], list[Subscription]] = lambda ctx: []
    # Run once per start after migrations (e.g. seeding agents); must be idempotent.
    on_start: Callable[[Context], Awaitable[None]] | None = None
    # Long-running loops (e.g. a periodic sweep) started with the workers.
    background: Callable[[Context], list[Awaitable[None]]] = lambda ctx: []
    # Run once per stop, first (before consumers and relays stop), in every role: releases what
    # on_start opened (clients, connections, open streams).
    on_stop: Callable[[Context], Awaitable[None]] | None = None
    # Adjusts the app once it is built (routes that must come after every router, the OpenAPI
    # document); called in every role.
    on_app: Callable[[FastAPI], None] | None = None


def context_of(name: str) -> Callable[[Request], Context]:
    """FastAPI dependency giving an endpoint its component's context."""

    def dependency(request: Request) -> Context:
        contexts: dict[str, Context] = request.app.state.contexts
        return contexts[name]

    return dependency


def build_bus(settings: ServiceSettings) -> Bus:
    if settings.bus == "memory":
        from sportello.bus.memory import InMemoryBus

        return InMemoryBus(max_attempts=settings.consumer_max_attempts,
                           backoff_seconds=settings.consumer_retry_backoff_seconds,
                           batch_size=settings.consumer_batch_size)
    from sportello.bus.kafka import KafkaBus

    return KafkaBus(settings)


async def migrate(components: Sequence[Component], settings: ServiceSettings) -> None:
    for component in components:
        await asyncio.to_thread(upgrade, settings.database_url_plain(), component.migrations)
        log.info("db.migrated", component=component.name)


class Runtime:
    def __init__(
        self,
        components: Sequence[Component],
        settings: ServiceSettings,
        *,
        bus: Bus | None = None,
        migrate_on_start: bool = True,
    ) -> None:
        self.components = list(components)
        self.settings = settings
        self.bus = bus or build_bus(settings)
        self.migrate_on_start = migrate_on_start
        self.contexts: dict[str, Context] = {}
        self._engine: AsyncEngine | None = None
        self._background: list[asyncio.Task[None]] = []

    @property
    def runs_workers(self) -> bool:
        return self.settings.role in ("worker", "all")

    async def start(self) -> None:
        if self.migrate_on_start:
            await migrate(self.components, self.settings)
        self._engine = create_engine(self.settings)
        for component in self.components:
            settings = component.settings_cls(**self.settings.model_dump())
            db = Database(self._engine, component.metadata, source=f"sportello/{component.name}")
            relay = OutboxRelay(db, self.bus, poll_seconds=settings.outbox_poll_seconds,
                                batch_size=settings.outbox_batch_size)
            ctx = Context(component.name, settings, db, self.bus, relay)
            self.contexts[component.name] = ctx
            if component.on_start is not None:
                await component.on_start(ctx)
            if self.runs_workers:
                for subscription in component.subscriptions(ctx):
                    self.bus.subscribe(subscription)
        await self.bus.start()
        for component in self.components:
            ctx = self.contexts[component.name]
            # Every process relays its component's outbox (API processes write events too); the
            # relay's advisory lock keeps one active per schema.
            ctx.relay.start()
            if self.runs_workers:
                self._background += [asyncio.ensure_future(job) for job in component.background(ctx)]
        log.info("runtime.started", components=[c.name for c in self.components],
                 role=self.settings.role, bus=self.settings.bus)

    async def stop(self) -> None:
        log.info("runtime.stopping")
        for component in self.components:
            if component.on_stop is not None and component.name in self.contexts:
                try:
                    await component.on_stop(self.contexts[component.name])
                except Exception:  # what follows (commits, relays) matters more
                    log.exception("runtime.on_stop_failed", component=component.name)
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.bus.stop_consumers()
        for ctx in self.contexts.values():
            await ctx.relay.stop()
        await self.bus.stop()
        if self._engine is not None:
            await self._engine.dispose()
        log.info("runtime.stopped")

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        for name, ctx in self.contexts.items():
            try:
                await asyncio.wait_for(ctx.db.ping(), timeout=2)
                checks[f"{name}.database"] = "ok"
            except Exception as exc:
                checks[f"{name}.database"] = f"failing: {type(exc).__name__}"
            checks[f"{name}.outbox_relay"] = "ok" if ctx.relay.running() else "stopped"
        checks["bus"] = "ok" if self.bus.ready() else "not ready"
        return checks


def _health_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: database, bus and relays are working")
    async def readyz(request: Request) -> Response:
        checks = await runtime.readiness()
        if all(value == "ok" for value in checks.values()):
            return JSONResponse({"status": "ready", "checks": checks})
        return problem_response(request, status=503, title="Not ready", slug="not-ready",
                                detail="A dependency is not ready.", checks=checks)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def create_app(
    components: Sequence[Component],
    settings: ServiceSettings,
    *,
    bus: Bus | None = None,
    title: str = "Sportello",
    migrate_on_start: bool = True,
) -> FastAPI:
    configure_logging(settings.log_level, json=settings.log_json,
                      service="+".join(c.name for c in components))
    runtime = Runtime(components, settings, bus=bus, migrate_on_start=migrate_on_start)
    auth = authenticator_from(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        app.state.contexts = runtime.contexts
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, version="0.1.0", lifespan=lifespan, docs_url="/docs")
    app.state.runtime = runtime
    app.state.auth = auth
    install_problem_handlers(app)
    install_rate_limits(app, settings, service="+".join(c.name for c in components))  # inside observability
    install_observability(app, service="+".join(c.name for c in components))
    app.include_router(_health_router(runtime))
    if settings.role in ("api", "all"):
        for component in components:
            for router in component.routers:
                app.include_router(router)
    document_security(app)  # 401/403/429 on protected operations; before on_app, which may wrap it
    for component in components:
        if component.on_app is not None:
            component.on_app(app)
    return app
