"""One API at the gateway: the routes other services own, forwarded to them over real sockets.

The upstream here is a small FastAPI app served by uvicorn on a free port, using the real
authentication and problem handlers every service uses; its routes reach the gateway through its
OpenAPI document, as a real service's do.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import pytest
import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import REGISTRY

from sportello.http.auth import Principal, TokenAuth, parse_tokens, require
from sportello.http.problems import install_problem_handlers
from sportello.runtime import create_app
from sportello_deploy.postgres import EmbeddedPostgres
from sportello_deploy.processes import ServiceProcess, base_env, free_port, link_gateway, migrate_all
from sportello_gateway.component import COMPONENT
from sportello_gateway.edge.proxy import UPSTREAMS_STATE
from sportello_gateway.edge.upstreams import Upstreams
from sportello_gateway.settings import GatewaySettings
from sportello_priority.component import COMPONENT as PRIORITY
from tests.support.app import TOKENS_SPEC, auth, running_app
from tests.support.database import settings_for
from tests.support.waiting import eventually

AGENT, ADMIN = auth("agent"), auth("admin")
ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def served(app: Any, *, lifespan: Literal["on", "off"] = "off", port: int | None = None) -> AsyncIterator[str]:
    """``app`` on a real socket in this event loop; stopped (gracefully) on exit."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan=lifespan,
                                           log_config=None, access_log=False,
                                           timeout_graceful_shutdown=5))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done())
    assert server.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class Upstream:
    """A service as the gateway sees it: routes, real auth, problem+json errors."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.app = FastAPI(title="upstream")
        self.app.state.auth = TokenAuth(parse_tokens(TOKENS_SPEC))
        install_problem_handlers(self.app)
        app = self.app

        async def echo(request: Request) -> Response:
            body = await request.body()
            return JSONResponse(
                {"method": request.method, "path": request.url.path, "query": request.url.query,
                 "body": body.decode(), "headers": dict(request.headers)},
                status_code=201 if request.method == "POST" else 200,
                headers={"X-Upstream": "things", "Connection": "close, X-Hop",
                         "X-Hop": "private to this hop"},
            )

        @app.get("/v1/things/{name}", tags=["things"])
        async def read_thing(name: str, request: Request,
                             _: Annotated[Principal, Depends(require("agent"))]) -> Response:
            return await echo(request)

        @app.post("/v1/things/{name}", tags=["things"])
        async def create_thing(name: str, request: Request,
                               _: Annotated[Principal, Depends(require("agent"))]) -> Response:
            return await echo(request)

        @app.put("/v1/things/{name}", tags=["things"])
        async def replace_thing(name: str, request: Request,
                                _: Annotated[Principal, Depends(require("agent"))]) -> Response:
            return await echo(request)

        @app.post("/v1/admin-only", tags=["things"])
        async def admin_only(_: Annotated[Principal, Depends(require("admin"))]) -> dict[str, str]:
            return {"ok": "yes"}

        @app.delete("/v1/conversations/{conversation_id}", tags=["things"])
        async def clashing(conversation_id: str) -> dict[str, str]:
            return {"deleted_by": "upstream"}

        @app.get("/v1/conversations/{conversation_id}", tags=["things"])
        async def shadowed(conversation_id: str) -> dict[str, str]:
            return {"served_by": "upstream"}  # the gateway owns this one: never reached

        @app.get("/v1/slow")
        async def slow() -> dict[str, str]:
            await self.release.wait()
            return {"late": "yes"}

        @app.get("/v1/drip")
        async def drip() -> StreamingResponse:
            async def chunks() -> AsyncIterator[bytes]:
                yield b"first;"
                await self.release.wait()  # the rest only once the caller has the first chunk
                yield b"second"
            return StreamingResponse(chunks(), media_type="text/plain")


@asynccontextmanager
async def gateway_before(upstream_urls: dict[str, str], database_url: str,
                         **settings: object) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url, gateway_upstreams=upstream_urls,
                           **settings) as (app, client):
        yield app, client


def upstreams_of(app: FastAPI) -> Upstreams:
    found: Upstreams = app.state.contexts["gateway"].state[UPSTREAMS_STATE]
    return found


async def test_a_request_is_forwarded_as_sent_and_the_answer_comes_back_as_given(
    database_url: str,
) -> None:
    upstream = Upstream()
    async with served(upstream.app) as url, gateway_before({"things": url}, database_url) as (
            _, client):
        response = await client.post(
            "/v1/things/caf%C3%A9?x=1&x=2&y=%C3%A9", content=b'{"hello": "world"}',
            headers={**AGENT, "Content-Type": "application/json", "Idempotency-Key": "key-1",
                     "X-Correlation-ID": "corr-123", "Connection": "X-Drop-Me",
                     "X-Drop-Me": "hop", "X-Forwarded-For": "203.0.113.9"},
        )
    assert response.status_code == 201
    body = response.json()
    assert body["method"] == "POST"
    assert body["path"] == "/v1/things/café"
    assert body["query"] == "x=1&x=2&y=%C3%A9" and body["body"] == '{"hello": "world"}'
    seen = body["headers"]
    assert seen["authorization"] == AGENT["Authorization"]
    assert seen["idempotency-key"] == "key-1" and seen["content-type"] == "application/json"
    assert seen["x-correlation-id"] == "corr-123"  # the same id in both services' logs
    assert "x-drop-me" not in seen  # named in Connection: hop-by-hop
    assert seen["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert seen["x-forwarded-proto"] == "http" and seen["x-forwarded-host"] == "test"
    assert response.headers["x-upstream"] == "things"
    assert "x-hop" not in response.headers  # the upstream's hop-by-hop headers stay there
    assert response.headers["x-correlation-id"] == "corr-123"


async def test_the_upstreams_auth_answers_arrive_unchanged(database_url: str) -> None:
    upstream = Upstream()
    async with served(upstream.app) as url, gateway_before({"things": url}, database_url) as (
            _, client):
        missing = await client.get("/v1/things/x")
        wrong_role = await client.post("/v1/admin-only", headers=AGENT)
        right_role = await client.post("/v1/admin-only", headers=ADMIN)
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["type"].endswith("/unauthorized")
    assert wrong_role.status_code == 403 and wrong_role.json()["type"].endswith("/forbidden")
    assert right_role.status_code == 200 and right_role.json() == {"ok": "yes"}


async def test_the_gateways_own_routes_win_and_other_methods_go_upstream(database_url: str) -> None:
    upstream = Upstream()
    conversation = "6f1d3c1e-0000-4000-8000-000000000001"
    async with served(upstream.app) as url, gateway_before({"things": url}, database_url) as (
            _, client):
        own = await client.get(f"/v1/conversations/{conversation}", headers=AGENT)
        other_method = await client.delete(f"/v1/conversations/{conversation}", headers=AGENT)
        unknown = await client.get("/v1/nobody-serves-this", headers=AGENT)
    assert own.status_code == 404 and own.json()["type"].endswith("/not-found")  # the gateway's
    assert other_method.status_code == 200 and other_method.json() == {"deleted_by": "upstream"}
    assert unknown.status_code == 404


async def test_an_upstream_that_goes_down_is_a_503_problem_with_retry_after(
    database_url: str,
) -> None:
    upstream = Upstream()
    port = free_port()
    async with gateway_before({"things": f"http://127.0.0.1:{port}"}, database_url,
                              gateway_upstream_retry_after_seconds=7) as (app, client):
        async with served(upstream.app, port=port):
            # The gateway learns the routes once the upstream answers (retried with backoff).
            await eventually(lambda: len(upstreams_of(app).table) > 0)
            assert (await client.get("/v1/things/x", headers=AGENT)).status_code == 200
        down = await client.get("/v1/things/x", headers=AGENT)
        errors = REGISTRY.get_sample_value("sportello_gateway_upstream_errors_total",
                                           {"upstream": "things", "kind": "unavailable"})
    assert down.status_code == 503
    assert down.headers["content-type"] == "application/problem+json"
    assert down.headers["retry-after"] == "7"
    assert down.json()["upstream"] == "things" and down.json()["status"] == 503
    assert errors is not None and errors >= 1


async def test_while_an_upstreams_routes_are_unknown_its_api_paths_are_503_not_404(
    database_url: str,
) -> None:
    port = free_port()  # nothing listens there
    async with gateway_before({"things": f"http://127.0.0.1:{port}"}, database_url) as (_, client):
        response = await client.get("/v1/things/x", headers=AGENT)
        own = await client.get("/v1/conversations", headers=AGENT)
    assert response.status_code == 503 and "retry-after" in response.headers
    assert response.json()["upstream"] == "things"
    assert own.status_code == 200  # the gateway's own API does not depend on its upstreams


async def test_a_slow_upstream_is_a_504_problem(database_url: str) -> None:
    upstream = Upstream()
    async with served(upstream.app) as url, gateway_before(
            {"things": url}, database_url, gateway_upstream_timeout_seconds=0.2) as (_, client):
        try:
            response = await client.get("/v1/slow", headers=AGENT)
        finally:
            upstream.release.set()
    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/upstream-timeout")


async def test_the_response_body_is_streamed_not_buffered(database_url: str) -> None:
    upstream = Upstream()
    settings = settings_for(database_url, COMPONENT.settings_cls, bus="memory",
                            api_tokens=TOKENS_SPEC)
    async with served(upstream.app) as url:
        app = create_app([COMPONENT], settings.model_copy(update={"gateway_upstreams": {"things": url}}))
        async with served(app, lifespan="on") as gateway, httpx.AsyncClient() as client, \
                client.stream("GET", f"{gateway}/v1/drip", headers=AGENT) as response:
            chunks = response.aiter_raw()
            # The first chunk arrives while the upstream still holds back the second.
            first = await anext(chunks)
            upstream.release.set()
            rest = b"".join([chunk async for chunk in chunks])
    assert response.status_code == 200
    assert first + rest == b"first;second" and first == b"first;"


async def test_the_gateway_serves_one_document_with_every_upstream_path(database_url: str) -> None:
    upstream = Upstream()
    async with served(upstream.app) as url, gateway_before({"things": url}, database_url) as (
            _, client):
        document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    assert {"/v1/things/{name}", "/v1/admin-only", "/v1/slow", "/v1/conversations/{conversation_id}",
            "/v1/conversations", "/v1/stream"} <= set(paths)
    assert set(paths["/v1/things/{name}"]) == {"get", "post", "put"}
    assert set(paths["/v1/conversations/{conversation_id}"]) == {"get", "delete"}
    # The gateway's own GET (not the shadowed upstream one) describes that path.
    assert "things" not in paths["/v1/conversations/{conversation_id}"]["get"].get("tags", [])


async def test_a_real_services_routes_through_the_gateway(database_url: str) -> None:
    handle = f"reporter_{uuid.uuid4().hex[:8]}"
    priority_settings = settings_for(database_url, PRIORITY.settings_cls, bus="memory",
                                     api_tokens=TOKENS_SPEC)
    async with served(create_app([PRIORITY], priority_settings), lifespan="on") as url, \
            gateway_before({"priority": url}, database_url) as (_, client):
        added = await client.put(f"/v1/priority/press/@{handle}", json={"note": "tech desk"},
                                 headers=auth("supervisor"))
        listed = await client.get("/v1/priority/press", headers=AGENT)
        refused = await client.delete(f"/v1/priority/press/{handle}", headers=AGENT)
        invalid = await client.put(f"/v1/priority/press/{handle}", json={"nope": 1},
                                   headers=auth("supervisor"))
        document = (await client.get("/openapi.json")).json()
    assert added.status_code == 200 and added.json()["handle"] == handle
    assert {"handle": handle, "note": "tech desk", "source": "api"} in listed.json()
    assert refused.status_code == 403 and refused.json()["type"].endswith("/forbidden")
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"
    assert {"/v1/priority/press", "/v1/priority/press/{handle}", "/v1/conversations"} <= set(
        document["paths"])


def test_the_multi_process_stack_gives_the_gateway_every_other_services_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {"SPORTELLO_BUS": "kafka"}
    services = [ServiceProcess(name, port, env, tmp_path / f"{name}.log")
                for name, port in (("ingest", 8101), ("crm-sync", 8104), ("gateway", 8100))]
    link_gateway(services)
    gateway_env = services[-1].env
    assert json.loads(gateway_env["SPORTELLO_GATEWAY_UPSTREAMS"]) == {
        "ingest": "http://127.0.0.1:8101", "crm-sync": "http://127.0.0.1:8104"}
    assert "SPORTELLO_GATEWAY_UPSTREAMS" not in services[0].env  # the shared dict is not changed
    monkeypatch.setenv("SPORTELLO_GATEWAY_UPSTREAMS", gateway_env["SPORTELLO_GATEWAY_UPSTREAMS"])
    assert GatewaySettings().gateway_upstreams["crm-sync"] == "http://127.0.0.1:8104"


@pytest.mark.kafka
@pytest.mark.e2e
async def test_the_multi_process_stack_is_one_api_with_a_live_stream(
    kafka_bootstrap: str, postgres: EmbeddedPostgres, tmp_path: Path,
) -> None:
    """As ``make up`` runs it: each service its own process on real Kafka, the gateway told their
    URLs by ``link_gateway``. A message posted to ingest *through the gateway* comes back on the
    gateway's live stream (its Kafka tap, no consumer group)."""
    env = base_env(postgres.create_database("sportello_one_api"), kafka_bootstrap, TOKENS_SPEC,
                   SPORTELLO_ENVIRONMENT="test", SPORTELLO_OUTBOX_POLL_SECONDS="0.2",
                   SPORTELLO_SHUTDOWN_GRACE_SECONDS="5", PYTHONPATH=str(ROOT))
    await asyncio.to_thread(migrate_all, env)
    services = [ServiceProcess(name, free_port(), env, tmp_path / f"{name}.log")
                for name in ("ingest", "priority", "assignment", "crm-sync", "gateway")]
    link_gateway(services)
    gateway = services[-1].url
    try:
        for service in services:
            service.start()
        for service in services:
            await asyncio.to_thread(service.wait_ready, 90)
        async with httpx.AsyncClient(timeout=10) as client:
            document = await eventually(lambda: _merged(client, gateway), timeout=30)
            async with client.stream("GET", f"{gateway}/v1/stream?types=message.received",
                                     headers=auth("supervisor")) as live:
                lines = live.aiter_lines()
                assert (await anext(lines)).startswith("retry:")
                customer = uuid.uuid4().hex
                posted = await client.post(
                    f"{gateway}/v1/channels/api/messages", headers=auth("integration"),
                    json={"channel": "twitter", "external_id": f"{customer}-1", "text": "hello?",
                          "author": {"id": customer, "display_name": "Ada"},
                          "sent_at": datetime.now(UTC).isoformat()})
                assert posted.status_code == 201, posted.text
                data = await asyncio.wait_for(_first_data(lines), timeout=60)
            agents = await client.get(f"{gateway}/v1/agents", headers=auth("supervisor"))
    finally:
        for service in services:
            await asyncio.to_thread(service.terminate, 20)
    paths = set(document["paths"])
    assert {"/v1/channels/api/messages", "/v1/agents", "/v1/priority/weights", "/v1/webhooks/subscriptions",
            "/v1/conversations", "/v1/stream"} <= paths
    assert data["type"] == "message.received"
    assert data["conversation_id"] == posted.json()["conversation_id"]
    assert data["data"]["external_id"] == f"{customer}-1"
    assert agents.status_code == 200  # assignment's route, through the gateway


async def _merged(client: httpx.AsyncClient, gateway: str) -> dict[str, Any] | None:
    """The gateway's document once every upstream's routes are in it."""
    document: dict[str, Any] = (await client.get(f"{gateway}/openapi.json")).json()
    return document if "/v1/webhooks/subscriptions" in document["paths"] and "/v1/agents" in document[
        "paths"] and "/v1/priority/weights" in document["paths"] and "/v1/merges/{merge_id}" in document[
        "paths"] else None


async def _first_data(lines: AsyncIterator[str]) -> dict[str, Any]:
    async for line in lines:
        if line.startswith("data:") and '"last_event_id"' not in line:
            found: dict[str, Any] = json.loads(line.removeprefix("data:"))
            return found
    raise AssertionError("the stream ended")
