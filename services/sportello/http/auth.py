"""Bearer-token authentication with roles.

Tokens come from ``SPORTELLO_API_TOKENS`` ("role=token,role=token"). A request without a valid token
is 401; a valid token lacking the role an endpoint requires is 403. Comparison is constant-time.
Roles, from most to least powerful: admin > supervisor > agent; ``integration`` is for systems that
push messages (channel integrations) and reads nothing.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request

from sportello.http.problems import Forbidden, Unauthorized

Role = Literal["admin", "supervisor", "agent", "integration"]
_ROLES: tuple[Role, ...] = ("admin", "supervisor", "agent", "integration")
# Which roles satisfy a requirement: an admin can do what a supervisor can, and so on.
_IMPLIED: dict[Role, frozenset[Role]] = {
    "agent": frozenset({"agent", "supervisor", "admin"}),
    "supervisor": frozenset({"supervisor", "admin"}),
    "admin": frozenset({"admin"}),
    "integration": frozenset({"integration", "admin"}),
}


@dataclass(frozen=True)
class Principal:
    role: Role
    token_hint: str  # the last 4 characters, enough to tell tokens apart in logs


def parse_tokens(spec: str) -> list[tuple[Role, str]]:
    pairs: list[tuple[Role, str]] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        role, sep, token = item.partition("=")
        if not sep or role not in _ROLES or len(token) < 16:
            raise ValueError(
                "SPORTELLO_API_TOKENS must be 'role=token' pairs (roles: "
                f"{', '.join(_ROLES)}; tokens of at least 16 characters)"
            )
        pairs.append((role, token))  # type: ignore[arg-type]
    return pairs


class TokenAuth:
    def __init__(self, tokens: list[tuple[Role, str]]) -> None:
        self._tokens = tokens

    def authenticate(self, authorization: str | None) -> Principal:
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented:
            raise Unauthorized("Send 'Authorization: Bearer <token>'.")
        match: Principal | None = None
        for role, token in self._tokens:
            # Compare against every token so timing does not reveal which one nearly matched.
            if hmac.compare_digest(presented.encode(), token.encode()):
                match = Principal(role=role, token_hint=token[-4:])
        if match is None:
            raise Unauthorized("The token is not valid.")
        return match


def holds(principal: Principal, role: Role) -> bool:
    """Whether the caller holds ``role`` or a role that implies it."""
    return principal.role in _IMPLIED[role]


def require(role: Role) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A FastAPI dependency: the caller must hold ``role`` (or a role that implies it)."""

    async def dependency(request: Request) -> Principal:
        auth: TokenAuth = request.app.state.auth
        principal = auth.authenticate(request.headers.get("authorization"))
        if not holds(principal, role):
            raise Forbidden(f"This operation needs the '{role}' role.")
        return principal

    return dependency
