"""A minimal app behind the real auth, rate limiting and problem handling, and tokens to call it with."""

from __future__ import annotations

import time
from typing import Any

import jwt
from fastapi import APIRouter, Depends, FastAPI
from pydantic import SecretStr

from sportello.http.auth import Principal, authenticator_from, require
from sportello.http.middleware import install_observability
from sportello.http.problems import install_problem_handlers
from sportello.settings import ServiceSettings

SECRET = "a-test-only-hs256-secret-of-enough-length"
API_KEYS = {"agent": "test-agent-api-key-0000000001", "supervisor": "test-supervisor-api-key-00002"}


def settings(**overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "api_tokens": SecretStr(",".join(f"{role}={key}" for role, key in API_KEYS.items())),
        "jwt_secret": SecretStr(SECRET),
        **overrides,
    }
    return ServiceSettings(**values)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "user-1", "aud": "sportello", "iat": now, "exp": now + 300, "roles": ["agent"],
            **overrides}


def token(secret: str = SECRET, algorithm: str = "HS256", headers: dict[str, Any] | None = None,
          **overrides: Any) -> str:
    payload = {k: v for k, v in claims(**overrides).items() if v is not None}
    return jwt.encode(payload, secret, algorithm=algorithm, headers=headers)


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def app_with_auth(service_settings: ServiceSettings) -> FastAPI:
    app = FastAPI()
    app.state.auth = authenticator_from(service_settings)
    install_problem_handlers(app)
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(principal: Principal = Depends(require("agent"))) -> dict[str, Any]:
        return {"role": principal.role, "subject": principal.subject, "agent_id": principal.agent_id,
                "teams": sorted(principal.teams), "kind": principal.kind}

    @router.get("/supervised")
    async def supervised(_: Principal = Depends(require("supervisor"))) -> dict[str, str]:
        return {"ok": "yes"}

    app.include_router(router)
    return app


def observed(app: FastAPI) -> FastAPI:
    install_observability(app, service="test-auth")
    return app
