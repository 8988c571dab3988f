"""RFC 9457 problem details: one error base carrying its status, one renderer.

Expected failures (not found, conflict, forbidden) are raised as :class:`Problem` subclasses and
rendered as ``application/problem+json``; request validation errors become 422 problems listing
every invalid field; anything unexpected is a 500 problem that leaks no internals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sportello.errors import is_data_error, is_transient, sqlstate_of
from sportello.observability.context import current_correlation_id

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://sportello.dev/problems/"
_UNAVAILABLE_RETRY_AFTER_SECONDS = 2


class Problem(Exception):
    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class NotFound(Problem):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(Problem):
    status, title, slug = 409, "Conflict", "conflict"


class Unauthorized(Problem):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Forbidden(Problem):
    status, title, slug = 403, "Forbidden", "forbidden"


class InvalidRequest(Problem):
    status, title, slug = 400, "Invalid request", "invalid-request"


def problem_response(
    request: Request, *, status: int, title: str, slug: str, detail: str,
    extensions: Mapping[str, Any] | None = None, **more: Any,
) -> JSONResponse:
    # Extensions first: one named like a standard member (status, detail...) can never replace it.
    body = {
        **(extensions or {}),
        **more,
        "type": _TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "correlation_id": current_correlation_id(),
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(request, status=exc.status, title=exc.title, slug=exc.slug,
                                detail=exc.detail, extensions=exc.extensions)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"location": list(err.get("loc", ())), "message": err.get("msg", ""),
             "type": err.get("type", "")}
            for err in exc.errors()
        ]
        return problem_response(request, status=422, title="Validation failed",
                                slug="validation-failed",
                                detail=f"{len(errors)} invalid field(s) in the request",
                                errors=errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(request, status=exc.status_code, title=str(exc.detail),
                                slug=f"http-{exc.status_code}", detail=str(exc.detail))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_transient(exc):
            # The database or the broker is away for a moment: retrying is the right answer.
            log.warning("http.dependency_unavailable", path=request.url.path, error=repr(exc)[:300])
            response = problem_response(
                request, status=503, title="Service unavailable", slug="unavailable",
                detail=("A dependency is briefly unavailable. Retry the request: ingest deduplicates on "
                        "the external id, and POSTs carrying an Idempotency-Key are replayed, not repeated."))
            response.headers["Retry-After"] = str(_UNAVAILABLE_RETRY_AFTER_SECONDS)
            return response
        if is_data_error(exc):
            log.warning("http.unstorable_value", path=request.url.path, sqlstate=sqlstate_of(exc))
            return problem_response(
                request, status=422, title="Value cannot be stored", slug="unstorable-value",
                detail="A value in the request cannot be stored (out of range, or holding a NUL "
                       "character or an unpaired surrogate).")
        log.exception("http.unhandled_error", path=request.url.path)
        return problem_response(request, status=500, title="Internal error", slug="internal",
                                detail="An unexpected error occurred; quote the correlation id.")

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    # Failures of the database or the network get their own entry, so they are answered by
    # Starlette's exception middleware (logged once, by us) rather than by the server-error
    # middleware, which re-raises into uvicorn's own traceback after answering.
    for infrastructure in (SQLAlchemyError, OSError, httpx.TransportError):
        app.add_exception_handler(infrastructure, on_unexpected)
    app.add_exception_handler(Exception, on_unexpected)
