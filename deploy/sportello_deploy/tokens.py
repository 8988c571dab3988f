"""Development credentials: generated once per data folder, kept in 0600 files, never logged.

API keys (one per role) and, for agents' JWT bearer tokens, an HS256 signing secret plus a helper that
mints a token the way an identity provider would (``sub``, ``aud``, ``exp``, ``roles``, ``teams``), so a
console can be tried locally without one.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

import jwt

ROLES = ("admin", "supervisor", "agent", "integration")
DEV_AUDIENCE = "sportello"  # the default of SPORTELLO_JWT_AUDIENCE
DEV_ISSUER = "sportello-dev"


def load_or_create(path: Path) -> dict[str, str]:
    if path.exists():
        tokens: dict[str, str] = json.loads(path.read_text())
        return tokens
    tokens = {role: f"spt_{role}_{secrets.token_urlsafe(24)}" for role in ROLES}
    _write_private(path, json.dumps(tokens, indent=2))
    return tokens


def spec(tokens: dict[str, str]) -> str:
    return ",".join(f"{role}={token}" for role, token in tokens.items())


def load_or_create_jwt_secret(path: Path) -> str:
    """The HS256 secret for SPORTELLO_JWT_SECRET (64 URL-safe characters, well over the 32 required)."""
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    _write_private(path, secret)
    return secret


def dev_jwt(secret: str, *, subject: str, role: str = "agent", teams: Iterable[str] = (),
            agent_id: str | None = None, lifetime_seconds: int = 12 * 3600) -> str:
    """A signed access token with OIDC-style claims, valid for ``lifetime_seconds``."""
    now = int(time.time())
    claims: dict[str, object] = {"iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": subject, "iat": now,
                                 "exp": now + lifetime_seconds, "roles": [role], "teams": sorted(teams)}
    if agent_id is not None:
        claims["sportello_agent_id"] = agent_id
    return jwt.encode(claims, secret, algorithm="HS256")


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)  # created private before the secret is written into it
    path.write_text(text)
