"""The route-auth sweep: every route of every service, enumerated from its app, refuses callers without
credentials (401) and callers whose role is too low (403), with an API key and with a JWT — a new
route without ``require`` fails here.

Routes that are public by design (signed channel webhooks, the chat widget's visitor sessions, health,
docs) are listed in ``PUBLIC`` with the reason; anything else must depend on ``require(role)``. The
database is real but never migrated: a refusal must come before any data is touched, so reaching it
would fail the request.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import SecretStr

from sportello.bus.memory import InMemoryBus
from sportello.db import Database
from sportello.db.database import create_engine
from sportello.db.relay import OutboxRelay
from sportello.runtime import Context, create_app
from sportello_deploy.embedded import components
from tests.services.http.support import SECRET, bearer, token
from tests.support.app import TOKENS, TOKENS_SPEC, auth
from tests.support.database import settings_for

ROLES = ("admin", "supervisor", "agent", "integration")
# What each role may do (mirrors sportello.http.auth): a credential outside the set must get a 403.
HOLDERS = {"admin": {"admin"}, "supervisor": {"supervisor", "admin"}, "agent": {"agent", "supervisor", "admin"},
           "integration": {"integration", "admin"}}

# (component, path pattern) -> why the route authenticates callers some other way, or not at all.
PUBLIC: dict[tuple[str, str], str] = {
    ("*", r"/(healthz|readyz|metrics)"): "probes and scraping; carry no data",
    ("*", r"/(docs|docs/oauth2-redirect|redoc|openapi\.json)"): "the API's own documentation",
    ("ingest", r"/v1/channels/x/webhook"): "X signs its webhooks (CRC and x-twitter-webhooks-signature)",
    ("ingest", r"/v1/channels/meta/webhook"): "Meta signs its webhooks (verify token, X-Hub-Signature-256)",
    ("ingest", r"/v1/channels/email/inbound"): "the mail relay signs what it forwards",
    ("ingest", r"/v1/channels/chat/.*"): "website visitors: the chat session's own secret authenticates them",
    ("crm-sync", r"/v1/crm/contacts"): "the CRM signs its updates (Standard Webhooks, CRM inbound secrets)",
    ("gateway", r"/\{upstream path\}"): "forwarded with the caller's Authorization to the owning service, "
                                        "whose own routes are swept here",
}


def _public(component: str, path: str) -> str | None:
    for (owner, pattern), reason in PUBLIC.items():
        if owner in ("*", component) and re.fullmatch(pattern, path):
            return reason
    return None


def required_roles(dependant: Dependant) -> set[str]:
    roles: set[str] = set()
    for dependency in dependant.dependencies:
        roles |= getattr(dependency.call, "required_roles", frozenset())
        roles |= required_roles(dependency)
    return roles


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


@pytest.fixture(scope="module")
def apps(database_url: str) -> Iterator[dict[str, FastAPI]]:
    built: dict[str, FastAPI] = {}
    engines = []
    for component in components():
        settings = settings_for(database_url, component.settings_cls, bus="memory",
                                api_tokens=SecretStr(TOKENS_SPEC), jwt_secret=SecretStr(SECRET))
        app = create_app([component], settings, migrate_on_start=False)
        # The contexts the lifespan would build, without starting anything (no migration, no relay).
        engine = create_engine(settings)
        engines.append(engine)
        db = Database(engine, component.metadata, source=f"sportello/{component.name}")
        bus = InMemoryBus()
        app.state.contexts = {component.name: Context(component.name, settings, db, bus,
                                                      OutboxRelay(db, bus, poll_seconds=1, batch_size=1))}
        built[component.name] = app
    yield built


def _routes(app: FastAPI) -> list[tuple[str, str, set[str]]]:
    """(method, path, required roles) of every route the app serves, included routers' too."""
    found = []
    for context in iter_route_contexts(app.routes):
        dependant = getattr(context, "dependant", None)
        roles = required_roles(dependant) if dependant is not None else set()
        methods = getattr(context, "methods", None) or {"ANY"}  # a WebSocket or a catch-all route
        found += [(method, str(context.path), roles) for method in sorted(set(methods) - {"HEAD"})]
    return found


COMPONENT_NAMES = [component.name for component in components()]


@pytest.mark.parametrize("name", COMPONENT_NAMES)
async def test_every_route_refuses_missing_credentials_and_too_low_a_role(
    apps: dict[str, FastAPI], name: str,
) -> None:
    app = apps[name]
    failures: list[str] = []
    checked = 0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://sweep") as client:
        for method, path, roles in _routes(app):
            if not roles:
                if _public(name, path) is None:
                    failures.append(f"{method} {path}: no require(role) and not listed in PUBLIC")
                continue
            if method == "ANY":
                continue  # requires a role (checked above); not callable with one method
            checked += 1
            url = _concrete(path)
            anonymous = await client.request(method, url)
            if anonymous.status_code != 401:
                failures.append(f"{method} {path}: {anonymous.status_code} without credentials, not 401")
            # Several require()s must all pass; one require_any() passes for any of its roles.
            allowed = set.union(*(HOLDERS[role] for role in roles)) if len(roles) > 1 else HOLDERS[next(iter(roles))]
            for role in (r for r in ROLES if r not in allowed):
                for kind, credential in (("API key", auth(role)),
                                         ("JWT", bearer(token(sub=f"sweep-{role}", roles=[role])))):
                    refused = await client.request(method, url, headers=credential)
                    if refused.status_code != 403:
                        failures.append(f"{method} {path}: {refused.status_code} for a '{role}' {kind}, not 403")
    assert not failures, "\n".join(failures)
    assert checked > 0


@pytest.mark.parametrize("name", COMPONENT_NAMES)
def test_protected_operations_document_their_security(apps: dict[str, FastAPI], name: str) -> None:
    document: dict[str, Any] = apps[name].openapi()
    assert {"bearerAuth", "apiKey"} <= set(document["components"]["securitySchemes"])
    protected = {(method, path) for method, path, roles in _routes(apps[name]) if roles and method != "ANY"}
    assert protected
    for method, path in protected:
        operation = document["paths"][path][method.lower()]
        assert operation["security"] == [{"bearerAuth": []}, {"apiKey": []}], (method, path)
        for status in ("401", "403", "429"):
            assert "application/problem+json" in operation["responses"][status]["content"], (method, path, status)


def test_the_sweep_sees_a_route_without_auth() -> None:
    """The sweep's detector itself: a route with no ``require`` has no roles; one with it has them."""
    from fastapi import APIRouter, Depends

    from sportello.http.auth import require

    router = APIRouter()

    @router.get("/open")
    async def open_route() -> dict[str, str]:
        return {}

    @router.get("/closed", dependencies=[Depends(require("supervisor"))])
    async def closed_route() -> dict[str, str]:
        return {}

    by_path = {route.path: route for route in router.routes if isinstance(route, APIRoute)}
    assert required_roles(by_path["/open"].dependant) == set()
    assert required_roles(by_path["/closed"].dependant) == {"supervisor"}
    assert _public("ingest", "/v1/conversations/x/replies") is None


def test_the_api_keys_used_cover_every_role() -> None:
    assert set(TOKENS) == set(ROLES)
