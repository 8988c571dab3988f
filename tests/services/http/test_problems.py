"""Problem documents (RFC 9457): extensions travel, standard members are never overwritten."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc

from sportello.http.problems import Conflict, install_problem_handlers


def app_raising(problem: Exception) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise problem

    return app


async def get(app: FastAPI) -> httpx.Response:
    # Starlette re-raises an unexpected error after its handler answered: look at the answer only.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        return await c.get("/boom")


async def test_extensions_are_members_of_the_problem() -> None:
    response = await get(app_raising(Conflict("Already merged.", merge_id="m-1")))
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["merge_id"] == "m-1"


async def test_an_extension_named_like_a_standard_member_cannot_replace_it() -> None:
    response = await get(app_raising(Conflict("Decided already.", status="accepted",
                                              title="ignored", type="x")))
    assert response.status_code == 409
    body = response.json()
    assert (body["status"], body["title"], body["detail"]) == (409, "Conflict", "Decided already.")
    assert body["type"].endswith("conflict")


async def test_an_unhandled_error_is_a_500_problem_and_is_counted() -> None:
    from sportello.http.middleware import install_observability
    from sportello.observability import metrics

    app = app_raising(RuntimeError("boom"))
    install_observability(app, "test-crash")
    before = metrics.HTTP_REQUESTS.labels("test-crash", "GET", "/boom", 500)._value.get()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://t") as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert metrics.HTTP_REQUESTS.labels("test-crash", "GET", "/boom", 500)._value.get() == before + 1


async def test_a_database_that_is_starting_up_is_a_503_with_retry_after() -> None:
    starting_up = _CannotConnectNow("the database system is starting up")
    response = await get(app_raising(sa_exc.DBAPIError("INSERT", {}, starting_up)))

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["type"].endswith("/unavailable")


class _CannotConnectNow(Exception):
    sqlstate = "57P03"  # what asyncpg's CannotConnectNowError carries


async def test_a_value_the_database_refuses_is_a_422_not_a_500() -> None:
    nul = _Refused('invalid byte sequence for encoding "UTF8": 0x00')
    response = await get(app_raising(sa_exc.DBAPIError("INSERT", {}, nul)))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/unstorable-value")


class _Refused(Exception):
    sqlstate = "22021"  # character_not_in_repertoire
