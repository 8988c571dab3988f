"""The upstream services behind the gateway: one pooled HTTP client and their OpenAPI documents.

Each upstream's document is fetched at start and again every ``gateway_openapi_refresh_seconds``; a
failed fetch keeps the last good document (a restarting upstream does not drop its routes), and an
upstream never reached yet is retried with a short backoff. The routing table and the merged OpenAPI
document are both derived from these documents.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import structlog

from sportello_gateway.edge import metrics
from sportello_gateway.edge.routing import RouteTable
from sportello_gateway.settings import GatewaySettings

log = structlog.get_logger(__name__)

_FIRST_RETRY_SECONDS = 0.5


class Upstreams:
    def __init__(self, settings: GatewaySettings, *, transport: httpx.AsyncBaseTransport | None = None
                 ) -> None:
        self.urls = dict(settings.gateway_upstreams)
        self.retry_after_seconds = settings.gateway_upstream_retry_after_seconds
        self._refresh_seconds = settings.gateway_openapi_refresh_seconds
        limits = httpx.Limits(max_connections=settings.gateway_upstream_max_connections,
                              max_keepalive_connections=settings.gateway_upstream_max_connections)
        timeout = httpx.Timeout(settings.gateway_upstream_timeout_seconds,
                                connect=settings.gateway_upstream_connect_timeout_seconds,
                                pool=settings.gateway_upstream_pool_timeout_seconds)
        # One pool for every request the gateway forwards; never follows redirects (the caller must
        # see the upstream's answer as it is) and never reads proxy settings from the environment.
        self.client = httpx.AsyncClient(limits=limits, timeout=timeout, follow_redirects=False,
                                        trust_env=False, transport=transport)
        self.documents: dict[str, dict[str, Any]] = {}
        self.table = RouteTable({})
        # Bumped whenever a document changes, so the merged OpenAPI document knows to rebuild.
        self.version = 0
        self._task: asyncio.Task[None] | None = None

    def unknown(self) -> list[str]:
        """Upstreams whose routes are not known yet (never reached since the gateway started)."""
        return sorted(set(self.urls) - set(self.documents))

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._refresh_forever(), name="gateway.upstreams.refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.aclose()

    async def refresh(self) -> None:
        results = await asyncio.gather(*(self._fetch(name) for name in sorted(self.urls)))
        changed = False
        for name, document in zip(sorted(self.urls), results, strict=True):
            if document is not None and document != self.documents.get(name):
                self.documents[name] = document
                changed = True
        if changed:
            self.table = RouteTable(self.documents)
            self.version += 1
            log.info("gateway.upstreams.routes_loaded", routes=len(self.table),
                     upstreams=sorted(self.documents), missing=self.unknown())

    async def _fetch(self, name: str) -> dict[str, Any] | None:
        try:
            response = await self.client.get(f"{self.urls[name]}/openapi.json")
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            metrics.UPSTREAM_ERRORS.labels(name, "openapi").inc()
            log.warning("gateway.upstreams.openapi_failed", upstream=name, error=repr(exc)[:200])
            return None
        if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
            log.warning("gateway.upstreams.openapi_invalid", upstream=name)
            return None
        return document

    async def _refresh_forever(self) -> None:
        backoff = _FIRST_RETRY_SECONDS
        while True:
            # Sooner while an upstream's routes are unknown: until then its paths answer 503.
            if self.unknown():
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._refresh_seconds)
            else:
                await asyncio.sleep(self._refresh_seconds)
            try:
                await self.refresh()
            except Exception:  # the loop must outlive a surprise; the last table stays in use
                log.exception("gateway.upstreams.refresh_failed")
