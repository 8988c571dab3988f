"""Run components in-process (real PostgreSQL, in-process bus) and talk to them over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from sportello.bus.base import Bus
from sportello.runtime import Component, create_app
from tests.support.database import settings_for

TOKENS = {
    "admin": "test-admin-token-0000000000",
    "supervisor": "test-supervisor-token-00000",
    "agent": "test-agent-token-000000000000",
    "integration": "test-integration-token-0000",
}
TOKENS_SPEC = ",".join(f"{role}={token}" for role, token in TOKENS.items())


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


@asynccontextmanager
async def running_app(
    components: Sequence[Component], database_url: str, *, bus: Bus | None = None,
    **overrides: object,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    # The first component's settings class, so its own settings (secrets, URLs) can be overridden.
    settings = settings_for(database_url, components[0].settings_cls, bus="memory",
                            api_tokens=SecretStr(TOKENS_SPEC),
                            consumer_retry_backoff_seconds=0.01, outbox_poll_seconds=0.05,
                            **overrides)
    app = create_app(components, settings, bus=bus)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client
