"""``Idempotency-Key`` on a real endpoint whose effect is a row in a real PostgreSQL database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from pydantic import BaseModel
from sqlalchemy import Column, Identity, Integer, MetaData, Table, Text, func, select, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from sportello.bus.memory import InMemoryBus
from sportello.db import Database, messaging_tables
from sportello.db.database import create_engine
from sportello.db.idempotency import idempotency_table
from sportello.db.relay import OutboxRelay
from sportello.http import idempotency
from sportello.http.auth import Principal, authenticator_from, require
from sportello.http.idempotency import idempotent_route, record_within
from sportello.http.problems import Conflict, install_problem_handlers
from sportello.runtime import Context, context_of
from tests.services.http.support import API_KEYS, bearer, settings, token
from tests.support.waiting import eventually

metadata = MetaData(schema="idempotency_test")
messaging_tables(metadata)
keys = idempotency_table(metadata)
effects = Table("effects", metadata, Column("id", Integer, Identity(), primary_key=True),
                Column("note", Text, nullable=False))


Ctx = Annotated[Context, Depends(context_of("lib"))]
Agent = Annotated[Principal, Depends(require("agent"))]


class NoteIn(BaseModel):
    note: str


@dataclass
class Harness:
    app: FastAPI
    client: httpx.AsyncClient
    db: Database
    gate: asyncio.Event
    attempts: dict[str, int]

    async def count(self, note: str) -> int:
        async with self.db.transaction() as tx:
            return int((await tx.session.execute(
                select(func.count()).select_from(effects).where(effects.c.note == note))).scalar_one())

    async def claims(self, key: str) -> list[Any]:
        async with self.db.transaction() as tx:
            return list((await tx.session.execute(select(keys).where(keys.c.key == key))).all())

    async def post(self, path: str, note: str, key: str | None, who: dict[str, str] | None = None) -> httpx.Response:
        headers = dict(who if who is not None else bearer(API_KEYS["agent"]))
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self.client.post(path, json={"note": note}, headers=headers)


def _router(gate: asyncio.Event, attempts: dict[str, int]) -> APIRouter:
    router = APIRouter(route_class=idempotent_route("lib", keys))

    async def act(ctx: Context, body: NoteIn) -> dict[str, Any]:
        async with ctx.db.transaction() as tx:
            new_id = (await tx.session.execute(effects.insert().values(note=body.note)
                                               .returning(effects.c.id))).scalar_one()
        return {"id": new_id, "note": body.note}

    @router.post("/v1/notes", status_code=201)
    async def create(body: NoteIn, ctx: Ctx, _: Agent, response: Response) -> dict[str, Any]:
        created = await act(ctx, body)
        response.headers["Location"] = f"/v1/notes/{created['id']}"
        return created

    @router.post("/v1/slow-notes", status_code=201)
    async def slow(body: NoteIn, ctx: Ctx, _: Agent) -> dict[str, Any]:
        await gate.wait()
        return await act(ctx, body)

    @router.post("/v1/refused-notes")
    async def refused(body: NoteIn, ctx: Ctx, _: Agent) -> dict[str, Any]:
        attempts[body.note] = attempts.get(body.note, 0) + 1
        raise Conflict("Not now.")

    @router.post("/v1/atomic-notes", status_code=201)
    async def atomic(body: NoteIn, ctx: Ctx, _: Agent, request: Request) -> dict[str, Any]:
        async with ctx.db.transaction() as tx:
            new_id = (await tx.session.execute(effects.insert().values(note=body.note)
                                               .returning(effects.c.id))).scalar_one()
            answer = {"id": new_id, "note": body.note}
            await record_within(request, tx, 201, answer)
        return answer

    return router


@pytest.fixture(scope="module")
async def harness(database_url: str) -> AsyncIterator[Harness]:
    service_settings = settings(database_url=database_url)
    setup = create_async_engine(database_url)
    async with setup.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS idempotency_test CASCADE"))
        await connection.execute(text("CREATE SCHEMA idempotency_test"))
        await connection.run_sync(metadata.create_all)
    await setup.dispose()
    engine = create_engine(service_settings)
    db = Database(engine, metadata, source="sportello/lib")
    bus = InMemoryBus()
    gate, attempts = asyncio.Event(), dict[str, int]()
    app = FastAPI()
    app.state.auth = authenticator_from(service_settings)
    relay = OutboxRelay(db, bus, poll_seconds=1, batch_size=10)  # never started: nothing is published
    app.state.contexts = {"lib": Context("lib", service_settings, db, bus, relay)}
    install_problem_handlers(app)
    app.include_router(_router(gate, attempts))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield Harness(app, client, db, gate, attempts)
    await engine.dispose()


def note() -> str:
    return uuid.uuid4().hex


async def test_a_replay_returns_the_identical_answer_and_acts_once(harness: Harness) -> None:
    text_, key = note(), note()
    first = await harness.post("/v1/notes", text_, key)
    again = await harness.post("/v1/notes", text_, key)
    assert first.status_code == again.status_code == 201, first.text
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert await harness.count(text_) == 1


async def test_without_a_key_every_post_acts(harness: Harness) -> None:
    text_ = note()
    assert [(await harness.post("/v1/notes", text_, None)).status_code for _ in range(2)] == [201, 201]
    assert await harness.count(text_) == 2


async def test_the_same_key_with_another_body_is_a_422(harness: Harness) -> None:
    first_text, key = note(), note()
    await harness.post("/v1/notes", first_text, key)
    other = await harness.post("/v1/notes", note(), key)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert await harness.count(first_text) == 1


async def test_keys_belong_to_a_caller_and_a_path(harness: Harness) -> None:
    text_, key = note(), note()
    await harness.post("/v1/notes", text_, key)
    someone_else = await harness.post("/v1/notes", text_, key, bearer(token(sub="ann")))
    assert someone_else.status_code == 201 and "idempotent-replayed" not in someone_else.headers
    elsewhere = await harness.post("/v1/atomic-notes", text_, key)
    assert elsewhere.status_code == 201 and "idempotent-replayed" not in elsewhere.headers
    assert await harness.count(text_) == 3


async def test_a_request_still_in_flight_makes_the_duplicate_a_409(harness: Harness) -> None:
    text_, key = note(), note()
    harness.gate.clear()
    first = asyncio.ensure_future(harness.post("/v1/slow-notes", text_, key))
    await eventually(lambda: harness.claims(key))  # the first request holds the key
    duplicate = await harness.post("/v1/slow-notes", text_, key)
    assert duplicate.status_code == 409
    assert duplicate.headers["retry-after"] == "1"
    assert duplicate.json()["type"].endswith("/idempotency-key-in-flight")
    harness.gate.set()
    assert (await first).status_code == 201
    replay = await harness.post("/v1/slow-notes", text_, key)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert await harness.count(text_) == 1


async def test_a_refused_request_stores_nothing_so_it_can_be_retried(harness: Harness) -> None:
    text_, key = note(), note()
    answers = [(await harness.post("/v1/refused-notes", text_, key)).status_code for _ in range(2)]
    assert answers == [409, 409]
    assert harness.attempts[text_] == 2  # ran twice: the first refusal was not replayed
    assert await harness.claims(key) == []


async def test_unauthenticated_requests_are_refused_before_any_key_is_kept(harness: Harness) -> None:
    key = note()
    refused = await harness.post("/v1/notes", note(), key, who={"Authorization": "Bearer wrong-key-0000000000"})
    assert refused.status_code == 401
    assert await harness.claims(key) == []
    unusable_key = await harness.post("/v1/notes", note(), "", who={})
    assert unusable_key.status_code == 401  # who is asking comes first, what they send second


@pytest.mark.parametrize("bad", ["", "   ", "x" * 256])
async def test_unusable_keys_are_a_400(harness: Harness, bad: str) -> None:
    text_ = note()
    response = await harness.post("/v1/notes", text_, bad)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]
    assert await harness.count(text_) == 0


async def test_a_structured_field_string_is_the_same_key(harness: Harness) -> None:
    text_, key = note(), note()
    await harness.post("/v1/notes", text_, key)
    again = await harness.post("/v1/notes", text_, f'"{key}"')
    assert again.headers["idempotent-replayed"] == "true"


async def test_an_expired_key_is_forgotten(harness: Harness) -> None:
    text_, key = note(), note()
    await harness.post("/v1/notes", text_, key)
    async with harness.db.transaction() as tx:
        await tx.session.execute(update(keys).where(keys.c.key == key)
                                 .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    again = await harness.post("/v1/notes", text_, key)
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert await harness.count(text_) == 2
    stored = (await harness.claims(key))[0]
    assert stored.expires_at > datetime.now(UTC) + timedelta(hours=23)  # the default retention, 24 h


async def test_a_claim_left_by_a_dead_request_is_taken_over_after_its_lease(harness: Harness) -> None:
    text_, key = note(), note()
    harness.gate.clear()
    first = asyncio.ensure_future(harness.post("/v1/slow-notes", text_, key))
    await eventually(lambda: harness.claims(key))
    async with harness.db.transaction() as tx:  # as if its process had died long ago
        await tx.session.execute(update(keys).where(keys.c.key == key)
                                 .values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))
    harness.gate.set()
    second = await harness.post("/v1/slow-notes", text_, key)
    assert second.status_code == 201 and "idempotent-replayed" not in second.headers
    await first


async def test_an_answer_recorded_within_the_effect_survives_a_crash_before_the_store(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    text_, key = note(), note()

    async def crashed(self: idempotency.Claim, response: Response) -> None:
        return None  # the process died after the handler's commit: the final store never happens

    monkeypatch.setattr(idempotency.Claim, "store", crashed)
    first = await harness.post("/v1/atomic-notes", text_, key)
    monkeypatch.undo()
    replay = await harness.post("/v1/atomic-notes", text_, key)
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert replay.headers["idempotent-replayed"] == "true"
    assert await harness.count(text_) == 1


def test_the_openapi_document_declares_the_header_and_its_problems(harness: Harness) -> None:
    operation = harness.app.openapi()["paths"]["/v1/notes"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]]
    assert {"400", "409", "422"} <= set(operation["responses"])
