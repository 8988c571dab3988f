"""Bearer authentication with roles: API keys for integrations and operations, JWTs for agents.

Both arrive as ``Authorization: Bearer <credential>``:

- **API keys** come from ``SPORTELLO_API_TOKENS`` ("role=token,role=token"), compared in constant time.
  They see everything their role allows (``Principal.kind == "api_key"``, no subject, no teams).
- **JWT bearer tokens** (OIDC access tokens, see :mod:`sportello.http.jwt_tokens`) carry the caller's
  subject, role, agent id and teams (``kind == "jwt"``).

A request without a valid credential is 401; a valid one lacking the role an endpoint requires is 403.
Roles, from most to least powerful: admin > supervisor > agent; ``integration`` is for systems that
push messages (channel integrations) and reads nothing. Every endpoint depends on ``require(role)``.

**Scoping data** (which conversations a caller sees): call :func:`scope_of` (or :func:`visible_teams`)
with the endpoint's principal. ``scope.everything`` is true for supervisors, admins and API keys;
otherwise (an agent signed in with a JWT) filter to ``scope.teams`` plus what is assigned to
``scope.agent_id`` — ``scope.allows(team, assignee)`` answers for one conversation.

The credential is verified once per request (the rate limiter and ``require`` share the result via
``request.state``) and never logged: only ``token_hint``, its last four characters, is.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sportello.http.jwt_tokens import JwtConfig, JwtVerifier
from sportello.http.problems import Forbidden, Problem, Unauthorized
from sportello.settings import ServiceSettings

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
    subject: str | None = None  # who the caller is (a JWT's sub); None for an API key
    agent_id: str | None = None  # the agent the caller acts as, when it is one
    teams: frozenset[str] = frozenset()  # the teams an agent belongs to (from the token)
    kind: Literal["api_key", "jwt"] = "api_key"

    @property
    def actor(self) -> str:
        """Who did it, for audit trails: a signed-in person by their subject; an API key names its
        role, told apart from the other keys by its last characters."""
        if self.kind == "jwt" and self.subject is not None:
            return f"{self.role}:{self.subject}"
        return f"{self.role}:token-{self.token_hint}"

    @property
    def identity(self) -> str:
        """Who is calling, stable across requests: what rate limits and idempotency keys are scoped to."""
        if self.kind == "jwt" and self.subject is not None:
            return f"jwt:{self.subject}"
        return f"api_key:{self.role}:{self.token_hint}"


@dataclass(frozen=True)
class Scope:
    """The conversations a caller may see: everything, or their teams' plus those assigned to them."""

    everything: bool
    teams: frozenset[str] = frozenset()
    agent_id: str | None = None

    def allows(self, team: str | None, assignee: str | None) -> bool:
        if self.everything:
            return True
        return (team is not None and team in self.teams) or (
            assignee is not None and assignee == self.agent_id)


def scope_of(principal: Principal) -> Scope:
    teams = visible_teams(principal)
    if teams is None:
        return Scope(everything=True)
    return Scope(everything=False, teams=teams, agent_id=principal.agent_id)


def visible_teams(principal: Principal) -> frozenset[str] | None:
    """Which conversations the caller may see: None means all of them (supervisors, admins, API
    keys); otherwise only those of these teams (an agent sees their teams' conversations, and the
    ones assigned to them whatever the team)."""
    if principal.role != "agent" or principal.subject is None:
        return None
    return principal.teams


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
    """The API keys."""

    def __init__(self, tokens: list[tuple[Role, str]]) -> None:
        self._tokens = tokens

    def match(self, presented: str) -> Principal | None:
        found: Principal | None = None
        for role, token in self._tokens:
            # Compare against every token so timing does not reveal which one nearly matched.
            if hmac.compare_digest(presented.encode(), token.encode()):
                found = Principal(role=role, token_hint=token[-4:])
        return found

    def authenticate(self, authorization: str | None) -> Principal:
        presented = _bearer(authorization)
        match = self.match(presented)
        if match is None:
            raise Unauthorized("The token is not valid.")
        return match


class Authenticator:
    """API keys first (cheap, constant-time), then a JWT when one is configured and it looks like one."""

    def __init__(self, api_keys: TokenAuth, jwt: JwtVerifier | None = None) -> None:
        self.api_keys = api_keys
        self.jwt = jwt

    def authenticate(self, authorization: str | None) -> Principal:
        presented = _bearer(authorization)
        key = self.api_keys.match(presented)
        if key is not None:
            return key
        if self.jwt is None or presented.count(".") != 2:
            raise Unauthorized("The token is not valid.")
        claims = self.jwt.verify(presented)
        return Principal(role=claims.role, token_hint=presented[-4:],  # type: ignore[arg-type]
                         subject=claims.subject, agent_id=claims.agent_id, teams=claims.teams, kind="jwt")


def authenticator_from(settings: ServiceSettings) -> Authenticator:
    """The API keys and, when a key source is configured, the JWT verifier (fails fast on bad config)."""
    config = JwtConfig(
        secret=settings.jwt_secret.get_secret_value(), public_keys_pem=settings.jwt_public_keys,
        jwks_json=settings.jwt_jwks, issuer=settings.jwt_issuer,
        audiences=tuple(a.strip() for a in settings.jwt_audience.split(",") if a.strip()),
        leeway_seconds=settings.jwt_leeway_seconds, roles_claim=settings.jwt_roles_claim,
        teams_claim=settings.jwt_teams_claim, agent_claim=settings.jwt_agent_claim,
    )
    api_keys = TokenAuth(parse_tokens(settings.api_tokens.get_secret_value()))
    return Authenticator(api_keys, JwtVerifier(config) if config.enabled else None)


def _bearer(authorization: str | None) -> str:
    scheme, _, presented = (authorization or "").partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        raise Unauthorized("Send 'Authorization: Bearer <token>'.")
    return presented


_STATE_KEY = "sportello_principal"


def authenticate_request(request: Request) -> Principal:
    """The caller, verified once per request: the outcome (principal or problem) is kept in
    ``request.state`` so the rate limiter, idempotency and ``require`` do not verify twice."""
    outcome = getattr(request.state, _STATE_KEY, None)
    if outcome is None:
        auth: Authenticator | TokenAuth = request.app.state.auth
        try:
            outcome = auth.authenticate(request.headers.get("authorization"))
        except Problem as problem:
            outcome = problem
        setattr(request.state, _STATE_KEY, outcome)
    if isinstance(outcome, Problem):
        raise outcome
    assert isinstance(outcome, Principal)
    return outcome


def holds(principal: Principal, role: Role) -> bool:
    """Whether the caller holds ``role`` or a role that implies it."""
    return principal.role in _IMPLIED[role]


# Declared for OpenAPI only (both read the same header; ``authenticate_request`` does the work):
# documents list the two schemes as alternatives on every protected operation.
_JWT_SCHEME = HTTPBearer(scheme_name="bearerAuth", bearerFormat="JWT", auto_error=False,
                         description="An OIDC access token (JWT) for agents, supervisors and admins.")
_API_KEY_SCHEME = HTTPBearer(scheme_name="apiKey", auto_error=False,
                             description="An API key (SPORTELLO_API_TOKENS) for integrations and operations.")
_Credentials = HTTPAuthorizationCredentials | None


def require(role: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A FastAPI dependency: the caller must hold ``role`` (or a role that implies it)."""
    return require_any(role)


def require_any(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A FastAPI dependency: the caller must hold one of ``roles`` (e.g. "agent" or "integration" for
    an answer that comes from a person or from a survey tool)."""
    wanted = " or ".join(f"'{role}'" for role in roles)

    async def dependency(request: Request, _jwt: Annotated[_Credentials, Depends(_JWT_SCHEME)] = None,
                         _key: Annotated[_Credentials, Depends(_API_KEY_SCHEME)] = None) -> Principal:
        principal = authenticate_request(request)
        if not any(holds(principal, role) for role in roles):
            raise Forbidden(f"This operation needs the {wanted} role.")
        return principal

    # What the route-auth sweep reads to know a route is protected, and by which roles.
    dependency.required_roles = frozenset(roles)  # type: ignore[attr-defined]
    return dependency
