"""``Idempotency-Key`` on POSTs (IETF draft "The Idempotency-Key HTTP Header Field").

Install on a router: ``APIRouter(route_class=idempotent_route("ingest", idempotency_keys))``, where
``idempotency_keys`` is the service's :func:`sportello.db.idempotency.idempotency_table`. A POST
carrying the header then behaves so:

- the key is the caller's (:attr:`Principal.identity`) for this method and path;
- the first request *claims* it (a committed row holding a fingerprint of its query and body), runs,
  and its answer (status, headers, body) is stored; a later request with the same key and the same
  body gets that answer again with ``Idempotent-Replayed: true``, and the handler does not run;
- the same key with another body is a 422 problem; while the first request is still in flight, a
  409 problem (``Retry-After: 1``); an empty key, one over 255 characters or one that is not
  printable ASCII is a 400 problem;
- keys are forgotten after ``SPORTELLO_IDEMPOTENCY_RETENTION_SECONDS`` (default 24 h);
- a request that fails (an exception, a 5xx, 401/403/429) stores nothing and releases its claim: it
  changed nothing, so the client may retry with the same key.

Crash safety. The claim is committed *before* the handler runs, so a duplicate can never run alongside
or after it; the answer is stored after. A handler can close the remaining window by recording its
answer in its own transaction (:func:`record_within`), atomically with its effect: ingest's replies do.
Otherwise, if the process dies between the handler's commit and the store (milliseconds), the claim
stays in flight until its lease (``LEASE``) runs out and a retry then runs the handler again — the
only case where a duplicate is possible, and only for handlers that do not record within.
Requests without the header, and callers who are not authenticated (their request is refused anyway),
are untouched.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import Table, and_, delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from sportello.db.database import Database, Tx
from sportello.http.auth import authenticate_request
from sportello.http.problems import InvalidRequest, Problem, problem_response

if TYPE_CHECKING:
    from sportello.runtime import Context

log = structlog.get_logger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
LEASE = timedelta(seconds=60)  # far beyond any handler's run time; what a dead claim blocks for
# Answers that say nothing about an effect: storing them would replay a refusal that no longer holds.
_NOT_STORED = frozenset({401, 403, 408, 425, 429})
_UNSTORED_HEADERS = frozenset({"content-length", "date", "server", "set-cookie", "x-correlation-id"})
_PURGE_ONE_IN = 500  # claims; the purge deletes at most a batch of expired keys
_PURGE_BATCH = 1000
_STATE_KEY = "sportello_idempotency"


@dataclass
class Claim:
    """A request holding a key: where its answer goes."""

    db: Database
    table: Table
    where: Any  # the key's primary-key condition
    recorded_within: bool = False

    async def store(self, response: Response) -> None:
        values = _answer_of(response)
        condition = self.where if self.recorded_within else and_(self.where, self.table.c.status_code.is_(None))
        async with self.db.transaction() as tx:
            await tx.session.execute(update(self.table).where(condition).values(**values))

    async def release(self) -> None:
        async with self.db.transaction() as tx:
            await tx.session.execute(delete(self.table).where(and_(self.where, self.table.c.status_code.is_(None))))


async def record_within(request: Request, tx: Tx, status_code: int, content: Any) -> None:
    """Store the answer in the handler's own transaction, atomically with its effect (JSON ``content``
    rendered as the route will render it). A no-op when the request carries no key."""
    claim: Claim | None = getattr(request.state, _STATE_KEY, None)
    if claim is None:
        return
    rendered = JSONResponse(jsonable_encoder(content), status_code=status_code)
    await tx.session.execute(update(claim.table).where(claim.where).values(**_answer_of(rendered)))
    claim.recorded_within = True


def idempotent_route(component: str, table: Table) -> type[APIRoute]:
    """A route class honouring ``Idempotency-Key`` on POSTs, storing keys in ``table`` through the
    component's database."""

    class IdempotentRoute(APIRoute):
        def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
            if "POST" in (kwargs.get("methods") or ()):
                kwargs["responses"] = {**_DOCUMENTED_RESPONSES, **(kwargs.get("responses") or {})}
                extra = dict(kwargs.get("openapi_extra") or {})
                extra["parameters"] = [*extra.get("parameters", []), _DOCUMENTED_HEADER]
                kwargs["openapi_extra"] = extra
            super().__init__(path, endpoint, **kwargs)

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handle = super().get_route_handler()

            async def idempotent(request: Request) -> Response:
                if request.method != "POST" or HEADER.lower() not in request.headers:
                    return await handle(request)
                try:
                    principal = authenticate_request(request)
                except Problem:
                    return await handle(request)  # refused by the route's own auth, keys untouched
                key = parse_key(request.headers[HEADER])
                context: Context = request.app.state.contexts[component]
                outcome = await _claim(context, table, principal.identity, request, key)
                if isinstance(outcome, Response):
                    return outcome
                setattr(request.state, _STATE_KEY, outcome)
                try:
                    response = await handle(request)
                except BaseException:
                    await _quietly(outcome.release(), "idempotency.release_failed", request)
                    raise
                if response.status_code >= 500 or response.status_code in _NOT_STORED or not _has_body(response):
                    await _quietly(outcome.release(), "idempotency.release_failed", request)
                else:
                    # The effect is committed: answer it whatever happens to the store (the claim then
                    # stays in flight until its lease ends; see the module docstring).
                    await _quietly(outcome.store(response), "idempotency.store_failed", request)
                return response

            return idempotent

    return IdempotentRoute


async def _quietly(step: Coroutine[Any, Any, None], event: str, request: Request) -> None:
    try:
        await step
    except Exception:
        log.exception(event, path=request.url.path)


def parse_key(value: str) -> str:
    """The key, from a bare value or a structured-field string (``"abc"``); 400 when unusable."""
    key = value.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not key or len(key) > MAX_KEY_LENGTH or not all(" " <= ch <= "~" for ch in key):
        raise InvalidRequest(f"The {HEADER} header must hold 1 to {MAX_KEY_LENGTH} printable ASCII characters.")
    return key


async def _claim(context: Context, table: Table, principal: str, request: Request, key: str) -> Claim | Response:
    body = await request.body()  # cached by Starlette: the handler reads it again
    fingerprint = hashlib.sha256(request.url.query.encode() + b"\0" + body).hexdigest()
    identity = {"principal": principal, "method": request.method, "path": request.url.path, "key": key}
    where = and_(*(table.c[name] == value for name, value in identity.items()))
    now = datetime.now(UTC)
    fresh = {"fingerprint": fingerprint, "status_code": None, "response_headers": None, "response_body": None,
             "locked_until": now + LEASE, "created_at": now,
             "expires_at": now + timedelta(seconds=context.settings.idempotency_retention_seconds)}
    db = context.db
    async with db.transaction() as tx:
        inserted = await tx.session.execute(
            pg_insert(table).values(**identity, **fresh).on_conflict_do_nothing().returning(table.c.key))
        if inserted.first() is None:
            stored = (await tx.session.execute(select(table).where(where).with_for_update())).one()
            if stored.expires_at <= now or (stored.status_code is None and stored.locked_until <= now):
                # Forgotten, or claimed by a request that died: this one starts afresh.
                log.info("idempotency.taken_over", path=request.url.path, expired=stored.expires_at <= now)
                await tx.session.execute(update(table).where(where).values(**fresh))
            elif stored.fingerprint != fingerprint:
                return problem_response(
                    request, status=422, title="Idempotency key reused", slug="idempotency-key-reused",
                    detail=f"This {HEADER} was first used with another request body; use a new key for a new "
                           "request.")
            elif stored.status_code is None:
                busy = problem_response(
                    request, status=409, title="Request in progress", slug="idempotency-key-in-flight",
                    detail=f"A request with this {HEADER} is still being processed; retry shortly.")
                busy.headers["Retry-After"] = "1"
                return busy
            else:
                log.info("idempotency.replayed", path=request.url.path, status=stored.status_code)
                return _replay(stored.status_code, stored.response_headers or [], stored.response_body or b"")
    if random.randrange(_PURGE_ONE_IN) == 0:  # load spreading, not security
        await _purge_expired(db, table, now)
    return Claim(db, table, where)


async def _purge_expired(db: Database, table: Table, now: datetime) -> None:
    columns = (table.c.principal, table.c.method, table.c.path, table.c.key)
    expired = select(*columns).where(table.c.expires_at < now).limit(_PURGE_BATCH)
    async with db.transaction() as tx:
        result = await tx.session.execute(delete(table).where(tuple_(*columns).in_(expired)))
    log.info("idempotency.purged", keys=getattr(result, "rowcount", None))


def _answer_of(response: Response) -> dict[str, Any]:
    headers = [[name, value] for name, value in
               ((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers)
               if name.lower() not in _UNSTORED_HEADERS]
    return {"status_code": response.status_code, "response_headers": headers, "response_body": bytes(response.body)}


def _has_body(response: Response) -> bool:
    return isinstance(getattr(response, "body", None), bytes | memoryview)


def _replay(status_code: int, headers: list[list[str]], body: bytes) -> Response:
    response = Response(content=body, status_code=status_code)
    for name, value in headers:
        response.headers.append(name, value)
    response.headers[REPLAYED_HEADER] = "true"
    return response


_DOCUMENTED_HEADER: dict[str, Any] = {
    "name": HEADER, "in": "header", "required": False,
    "description": "Makes the POST safe to retry: the same key and body replay the first answer (with "
                   "Idempotent-Replayed: true) instead of acting twice. Kept 24 h by default.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[ -~]+$"},
    "example": "8e03978e-40d5-43e8-bc93-6894a57f9324",
}
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_DOCUMENTED_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request (e.g. an unusable Idempotency-Key)", "content": _PROBLEM},
    409: {"description": "A request with the same Idempotency-Key is still in flight", "content": _PROBLEM},
}
