"""What every service's OpenAPI document says about security: schemes, and the problems auth causes.

The two schemes (``bearerAuth``: a JWT; ``apiKey``: an API key, also sent as a bearer token) come from
``require`` itself (FastAPI security dependencies), so an operation lists them exactly when it is
protected. This adds, to every protected operation, the 401, 403 and 429 answers as problem+json
(with ``WWW-Authenticate`` and ``Retry-After``), and the ``Problem`` schema they share.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from sportello.http.problems import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "correlation_id": {"type": ["string", "null"]},
    },
    "required": ["type", "title", "status", "detail"],
}

_SECONDS = {"schema": {"type": "integer", "minimum": 0}}
_RATE_HEADERS = {
    "RateLimit-Limit": {"description": "The bucket's size (requests).", **_SECONDS},
    "RateLimit-Remaining": {"description": "Requests left in the bucket.", **_SECONDS},
    "RateLimit-Reset": {"description": "Seconds until the bucket is full again.", **_SECONDS},
}


def _problem(description: str, example: dict[str, Any], headers: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "headers": headers, "content": {PROBLEM_JSON: {
        "schema": {"$ref": "#/components/schemas/Problem"}, "example": example}}}


def _example(status: int, slug: str, title: str, detail: str) -> dict[str, Any]:
    return {"type": f"https://sportello.dev/problems/{slug}", "title": title, "status": status,
            "detail": detail, "instance": "/v1/...", "correlation_id": "c0ffee"}


AUTH_RESPONSES: dict[str, dict[str, Any]] = {
    "401": _problem("No credential, or one that does not verify (unknown key, expired or forged token).",
                    _example(401, "unauthorized", "Unauthorized", "The token has expired; sign in again."),
                    {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}}),
    "403": _problem("The caller is authenticated but lacks the role this operation needs.",
                    _example(403, "forbidden", "Forbidden", "This operation needs the 'supervisor' role."),
                    {}),
    "429": _problem("Rate limit exceeded: retry after the given number of seconds.",
                    _example(429, "rate-limited", "Too many requests",
                             "Rate limit of 100 requests, refilled at 20/s, exceeded; retry in 1 s."),
                    {"Retry-After": {"description": "Seconds to wait.", **_SECONDS}, **_RATE_HEADERS}),
}


def document_security(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so protected operations document 401/403/429 (idempotent, cached)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        add_security_responses(document)
        document_problems(document)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def add_security_responses(document: dict[str, Any]) -> None:
    protected = False
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or not operation.get("security"):
                continue
            protected = True
            responses = operation.setdefault("responses", {})
            for status, response in AUTH_RESPONSES.items():
                documented = responses.setdefault(status, dict(response))
                # An endpoint's own wording is kept; what it leaves out (the problem body) is added.
                for part in ("content", "headers"):
                    documented.setdefault(part, response[part])
    if protected:
        document.setdefault("components", {}).setdefault("schemas", {}).setdefault("Problem", PROBLEM_SCHEMA)


VALIDATION_PROBLEM_SCHEMA: dict[str, Any] = {
    "allOf": [{"$ref": "#/components/schemas/Problem"}, {
        "type": "object",
        "properties": {"errors": {"type": "array", "items": {
            "type": "object",
            "properties": {"location": {"type": "array", "items": {"type": ["string", "integer"]}},
                           "message": {"type": "string"}, "type": {"type": "string"}}}}},
    }],
    "title": "ValidationProblem",
    "description": "RFC 9457 problem details listing every invalid field.",
}


def document_problems(document: dict[str, Any]) -> None:
    """Every error answer is ``application/problem+json`` (see ``problems.py``), so every documented
    4xx/5xx says so: FastAPI's default 422 (``HTTPValidationError`` as ``application/json``) and the
    bare descriptions endpoints give their 404s and 409s are rewritten to the ``Problem`` schemas."""
    touched = False
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if not (isinstance(response, dict) and str(status)[:1] in ("4", "5")):
                    continue
                schema = "ValidationProblem" if str(status) == "422" else "Problem"
                content = response.get("content", {})
                if PROBLEM_JSON in content and content[PROBLEM_JSON].get("schema"):
                    continue  # documented on purpose by the endpoint
                example = content.get(PROBLEM_JSON, {}).get("example")
                body: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                if example is not None:
                    body["example"] = example
                response["content"] = {PROBLEM_JSON: body}
                touched = True
    if touched:
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("Problem", PROBLEM_SCHEMA)
        schemas.setdefault("ValidationProblem", VALIDATION_PROBLEM_SCHEMA)
        # Nothing refers to FastAPI's own error models any more.
        for unused in ("HTTPValidationError", "ValidationError"):
            if not _referenced(document, unused):
                schemas.pop(unused, None)


def _referenced(document: dict[str, Any], name: str) -> bool:
    return f'"#/components/schemas/{name}"' in json.dumps(document)
