"""JWT bearer tokens for agents: OIDC access tokens verified locally, no network call per request.

Keys come from settings: an HS256 shared secret (``SPORTELLO_JWT_SECRET``), PEM public keys
(``SPORTELLO_JWT_PUBLIC_KEYS``, RS*/PS*/ES*), or the identity provider's JWKS document as JSON
(``SPORTELLO_JWT_JWKS``, chosen by the token's ``kid``). The algorithm is taken from the key, never
trusted from the token alone: ``none`` and an HS256 token signed with a public key are refused.

Claims: ``sub`` is required; ``exp`` too, ``nbf``/``iat`` are honoured with a small leeway; ``iss``
and ``aud`` are checked when configured. Roles come from a configurable claim (default ``roles``;
Keycloak's ``realm_access.roles`` is always read as well); unknown roles are ignored and the most
powerful known one wins. Teams come from ``teams``; the agent id from ``sportello_agent_id``, else
``sub``. Error messages say what is wrong (expired, audience, signature) and never echo the token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from sportello.http.problems import Forbidden, Unauthorized

# Most powerful first: the first one a token names is the caller's role.
JWT_ROLES = ("admin", "supervisor", "agent", "integration")
_KEYCLOAK_ROLES = "realm_access.roles"
_ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_MIN_SECRET_LENGTH = 32  # RFC 7518 §3.2: an HS256 key at least as long as the hash
_PEM_END = "-----END PUBLIC KEY-----"
_CACHE_SIZE = 10_000  # tokens in use at once per replica, far more than agents online


@dataclass(frozen=True)
class JwtClaims:
    """What a verified token says about its bearer."""

    subject: str
    role: str
    agent_id: str
    teams: frozenset[str]


@dataclass(frozen=True)
class JwtConfig:
    secret: str = ""
    public_keys_pem: str = ""
    jwks_json: str = ""
    issuer: str = ""
    audiences: tuple[str, ...] = ()
    leeway_seconds: int = 30
    roles_claim: str = "roles"
    teams_claim: str = "teams"
    agent_claim: str = "sportello_agent_id"

    @property
    def enabled(self) -> bool:
        return bool(self.secret or self.public_keys_pem.strip() or self.jwks_json.strip())


@dataclass
class JwtVerifier:
    config: JwtConfig
    _pem_keys: list[Any] = field(default_factory=list)
    _jwks: dict[str, jwt.PyJWK] = field(default_factory=dict)
    _verified: dict[str, tuple[JwtClaims, float]] = field(default_factory=dict)  # token -> (claims, until)

    def __post_init__(self) -> None:
        if self.config.secret and len(self.config.secret) < _MIN_SECRET_LENGTH:
            raise ValueError(f"SPORTELLO_JWT_SECRET must be at least {_MIN_SECRET_LENGTH} characters")
        self._pem_keys = [load_pem_public_key(pem.encode()) for pem in _split_pem(self.config.public_keys_pem)]
        if self.config.jwks_json.strip():
            keys = jwt.PyJWKSet.from_dict(json.loads(self.config.jwks_json)).keys
            self._jwks = {key.key_id or f"#{i}": key for i, key in enumerate(keys)}

    def verify(self, token: str) -> JwtClaims:
        """The token's claims, or :class:`Unauthorized` saying why it is refused."""
        # A console sends the same token on every request until it expires: verifying it once saves a
        # signature check and two JSON parses each time (~0.2 ms). Keyed by the whole token, so only
        # that exact, already verified string hits; dropped at its expiry like PyJWT would.
        cached = self._verified.get(token)
        if cached is not None and time.time() < cached[1]:
            return cached[0]
        claims, expires = self._verify(token)
        if len(self._verified) >= _CACHE_SIZE:
            self._verified.clear()  # simple bound; refills with the tokens in use
        self._verified[token] = (claims, expires)
        return claims

    def _verify(self, token: str) -> tuple[JwtClaims, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("The bearer token is malformed.") from None
        algorithm = header.get("alg")
        candidates = self._keys_for(algorithm, header.get("kid"))
        if not candidates:
            raise Unauthorized(f"No key configured here verifies tokens signed with '{algorithm}'.")
        failure: jwt.PyJWTError | None = None
        for key in candidates:
            try:
                payload = self._decode(token, key, str(algorithm))
                break
            except jwt.InvalidSignatureError as exc:  # another configured key may have signed it
                failure = exc
            except jwt.PyJWTError as exc:
                raise Unauthorized(_explain(exc)) from None
        else:
            assert failure is not None
            raise Unauthorized(_explain(failure)) from None
        return self._claims(payload), float(payload["exp"]) + self.config.leeway_seconds

    def _keys_for(self, algorithm: object, kid: object) -> list[Any]:
        if algorithm == "HS256":
            return [self.config.secret] if self.config.secret else []
        if algorithm not in _ASYMMETRIC:
            return []  # "none", or an HMAC variant hoping a public key is used as its secret
        family = rsa.RSAPublicKey if str(algorithm)[:2] in ("RS", "PS") else ec.EllipticCurvePublicKey
        if isinstance(kid, str) and kid in self._jwks:
            pool = [self._jwks[kid].key]
        else:
            pool = self._pem_keys + [jwk.key for jwk in self._jwks.values()]
        return [key for key in pool if isinstance(key, family)]

    def _decode(self, token: str, key: Any, algorithm: str) -> dict[str, Any]:
        config = self.config
        required = ["exp", "sub"] + (["iss"] if config.issuer else []) + (["aud"] if config.audiences else [])
        payload: dict[str, Any] = jwt.decode(
            token, key, algorithms=[algorithm],
            audience=list(config.audiences) or None, issuer=config.issuer or None,
            leeway=config.leeway_seconds,
            options={"require": required, "verify_aud": bool(config.audiences)},
        )
        return payload

    def _claims(self, payload: dict[str, Any]) -> JwtClaims:
        subject = payload.get("sub")
        if not isinstance(subject, str) or not subject.strip():
            raise Unauthorized("The token's 'sub' claim must be a non-empty string.")
        named = set(_strings(_claim(payload, self.config.roles_claim)))
        named |= set(_strings(_claim(payload, _KEYCLOAK_ROLES)))
        role = next((r for r in JWT_ROLES if r in named), None)
        if role is None:
            # Authenticated, but not entitled to anything here: 403, not 401 (a new login won't help).
            raise Forbidden(f"The token grants no Sportello role (one of {', '.join(JWT_ROLES)} in "
                            f"'{self.config.roles_claim}' or '{_KEYCLOAK_ROLES}').")
        agent = _claim(payload, self.config.agent_claim)
        return JwtClaims(
            subject=subject,
            role=role,
            agent_id=agent if isinstance(agent, str) and agent else subject,
            teams=frozenset(_strings(_claim(payload, self.config.teams_claim))),
        )


def _claim(payload: dict[str, Any], path: str) -> Any:
    """A claim by dotted path (``realm_access.roles``); a top-level claim named with dots wins."""
    if path in payload:
        return payload[path]
    value: Any = payload
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _strings(value: Any) -> Iterable[str]:
    """A claim holding one string (space separated, like OAuth scopes) or a list of strings."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str) and item]
    return []


def _split_pem(text: str) -> Sequence[str]:
    blocks = [block.strip() + "\n" + _PEM_END for block in text.split(_PEM_END) if block.strip()]
    return [block.strip() + "\n" for block in blocks]


def _explain(exc: jwt.PyJWTError) -> str:
    # Order matters: the specific errors subclass the generic ones.
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "The token has expired; sign in again."
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "The token is not valid yet (its 'nbf' or 'iat' is in the future)."
    if isinstance(exc, jwt.InvalidAudienceError):
        return "The token is not meant for this API (wrong audience)."
    if isinstance(exc, jwt.InvalidIssuerError):
        return "The token was issued by an issuer this API does not trust."
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"The token lacks the required '{exc.claim}' claim."
    if isinstance(exc, jwt.InvalidSignatureError):
        return "The token's signature does not verify."
    if isinstance(exc, jwt.DecodeError):
        return "The bearer token is malformed."
    return "The bearer token is not valid."
