"""API keys and JWT bearer tokens through the real ``require`` dependency and problem handlers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from structlog.testing import capture_logs

from sportello.http.auth import Principal, scope_of, visible_teams
from sportello.http.problems import Unauthorized
from tests.services.http.support import API_KEYS, app_with_auth, bearer, observed, settings, token

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


async def call(app: FastAPI, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.get(path, headers=headers or {})


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return app_with_auth(settings())


async def test_api_keys_still_work_and_see_everything(app: FastAPI) -> None:
    response = await call(app, "/whoami", bearer(API_KEYS["agent"]))
    assert response.status_code == 200
    assert response.json() == {"role": "agent", "subject": None, "agent_id": None, "teams": [], "kind": "api_key"}
    assert (await call(app, "/supervised", bearer(API_KEYS["agent"]))).status_code == 403
    assert (await call(app, "/supervised", bearer(API_KEYS["supervisor"]))).status_code == 200


async def test_a_valid_jwt_names_the_agent_and_their_teams(app: FastAPI) -> None:
    credential = token(sub="auth0|ann", teams=["billing", "vip"], sportello_agent_id="agent-7")
    response = await call(app, "/whoami", bearer(credential))
    assert response.status_code == 200, response.text
    assert response.json() == {"role": "agent", "subject": "auth0|ann", "agent_id": "agent-7",
                               "teams": ["billing", "vip"], "kind": "jwt"}


async def test_the_agent_id_defaults_to_the_subject(app: FastAPI) -> None:
    response = await call(app, "/whoami", bearer(token(sub="bob")))
    assert response.json()["agent_id"] == "bob"


@pytest.mark.parametrize(("roles", "expected"), [
    ({"roles": ["agent"]}, "agent"),
    ({"roles": None, "realm_access": {"roles": ["offline_access", "supervisor"]}}, "supervisor"),
    ({"roles": ["viewer", "agent", "admin", "uma_authorization"]}, "admin"),  # unknown ignored, highest wins
    ({"roles": "agent supervisor"}, "supervisor"),  # a space-separated string, like OAuth scopes
])
async def test_roles_come_from_either_claim_shape(app: FastAPI, roles: dict[str, Any], expected: str) -> None:
    response = await call(app, "/whoami", bearer(token(**roles)))
    assert response.status_code == 200, response.text
    assert response.json()["role"] == expected


async def test_a_configured_roles_claim_is_read(app: FastAPI) -> None:
    custom = app_with_auth(settings(jwt_roles_claim="https://sportello.dev/roles"))
    custom_claim: dict[str, Any] = {"https://sportello.dev/roles": ["supervisor"]}
    credential = token(roles=None, **custom_claim)
    assert (await call(custom, "/supervised", bearer(credential))).status_code == 200


async def test_a_jwt_with_too_low_a_role_is_forbidden(app: FastAPI) -> None:
    response = await call(app, "/supervised", bearer(token(roles=["agent"])))
    assert response.status_code == 403
    assert response.json()["type"].endswith("/forbidden")


async def test_a_jwt_with_no_known_role_is_forbidden_not_unauthorized(app: FastAPI) -> None:
    response = await call(app, "/whoami", bearer(token(roles=["viewer"])))
    assert response.status_code == 403
    assert "no Sportello role" in response.json()["detail"]


@pytest.mark.parametrize(("overrides", "explained"), [
    ({"exp": int(time.time()) - 3600}, "expired"),
    ({"aud": "someone-else"}, "audience"),
    ({"aud": None}, "'aud'"),
    ({"sub": None}, "'sub'"),
    ({"exp": None}, "'exp'"),
    ({"sub": ""}, "sub"),
    ({"nbf": int(time.time()) + 3600}, "not valid yet"),
    ({"secret": "another-secret-that-is-long-enough-too"}, "signature"),
])
async def test_refused_tokens_are_401_with_a_reason_and_never_echoed(
    app: FastAPI, overrides: dict[str, Any], explained: str, capsys: pytest.CaptureFixture[str],
) -> None:
    credential = token(**overrides)
    with capture_logs() as logs:
        response = await call(observed(app_with_auth(settings())), "/whoami", bearer(credential))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert explained in response.json()["detail"]
    signature = credential.rsplit(".", 1)[1]
    assert signature not in response.text
    # Whether structlog's loggers were cached by an earlier test decides where the lines go (the
    # capture, or the JSON renderer on stdout): look at both.
    emitted = [json.dumps(entry, default=str) for entry in logs] + capsys.readouterr().out.splitlines()
    assert emitted and all(signature not in line for line in emitted)


async def test_a_small_clock_skew_is_tolerated(app: FastAPI) -> None:
    skewed = token(nbf=int(time.time()) + 10, iat=int(time.time()) + 10)  # the default leeway is 30 s
    assert (await call(app, "/whoami", bearer(skewed))).status_code == 200


async def test_the_issuer_is_checked_when_configured() -> None:
    strict = app_with_auth(settings(jwt_issuer="https://login.example.com/realms/support"))
    good = token(iss="https://login.example.com/realms/support")
    assert (await call(strict, "/whoami", bearer(good))).status_code == 200
    wrong = await call(strict, "/whoami", bearer(token(iss="https://evil.example.com")))
    assert wrong.status_code == 401 and "issuer" in wrong.json()["detail"]
    missing = await call(strict, "/whoami", bearer(token()))
    assert missing.status_code == 401 and "'iss'" in missing.json()["detail"]


async def test_unsigned_and_malformed_tokens_are_refused(app: FastAPI) -> None:
    unsigned = jwt.encode({"sub": "x", "roles": ["admin"], "aud": "sportello", "exp": time.time() + 60},
                          "", algorithm="none")
    assert (await call(app, "/whoami", bearer(unsigned))).status_code == 401
    assert (await call(app, "/whoami", bearer("not.a.jwt"))).status_code == 401
    assert (await call(app, "/whoami", bearer("neither-a-key-nor-a-token"))).status_code == 401
    assert (await call(app, "/whoami")).status_code == 401
    assert (await call(app, "/whoami", {"Authorization": f"Basic {API_KEYS['agent']}"})).status_code == 401


async def test_rs256_with_a_pem_public_key() -> None:
    pem_app = app_with_auth(settings(jwt_secret="", jwt_public_keys=_pem(EC_KEY) + _pem(RSA_KEY)))
    private = RSA_KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    response = await call(pem_app, "/whoami", bearer(token(private.decode(), "RS256", sub="rsa-user")))
    assert response.status_code == 200, response.text
    assert response.json()["subject"] == "rsa-user"
    # The HS256 "algorithm confusion" forgery: the public key used as an HMAC secret.
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(
        {"sub": "mallory", "roles": ["admin"], "aud": "sportello", "exp": int(time.time()) + 60}).encode())
    mac = hmac.new(_pem(RSA_KEY).encode(), signing_input.encode(), hashlib.sha256).digest()
    confused = f"{signing_input}.{b64(mac)}"
    assert (await call(pem_app, "/whoami", bearer(confused))).status_code == 401


async def test_es256_from_a_jwks_document_chosen_by_kid() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    jwks = {"keys": [
        {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(other.public_key())), "kid": "old", "use": "sig"},
        {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key())), "kid": "current", "use": "sig"},
    ]}
    jwks_app = app_with_auth(settings(jwt_secret="", jwt_jwks=json.dumps(jwks)))
    signed = token(EC_KEY, "ES256", headers={"kid": "current"}, roles=["supervisor"])  # type: ignore[arg-type]
    response = await call(jwks_app, "/supervised", bearer(signed))
    assert response.status_code == 200, response.text
    wrong_kid = token(EC_KEY, "ES256", headers={"kid": "old"})  # type: ignore[arg-type]
    refused = await call(jwks_app, "/whoami", bearer(wrong_kid))
    assert refused.status_code == 401 and "signature" in refused.json()["detail"]


def test_a_short_hs256_secret_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        app_with_auth(settings(jwt_secret="short"))


def test_scope_agents_see_their_teams_others_see_everything() -> None:
    agent = Principal(role="agent", token_hint="abcd", subject="ann", agent_id="a-1",
                      teams=frozenset({"billing"}), kind="jwt")
    scope = scope_of(agent)
    assert not scope.everything and visible_teams(agent) == {"billing"}
    assert scope.allows("billing", None) and scope.allows("sales", "a-1")
    assert not scope.allows("sales", "a-2") and not scope.allows(None, None)
    supervisor = Principal(role="supervisor", token_hint="abcd", subject="sue", kind="jwt")
    api_key = Principal(role="agent", token_hint="abcd")
    assert scope_of(supervisor).everything and scope_of(api_key).everything
    assert visible_teams(supervisor) is None and visible_teams(api_key) is None
    assert agent.identity == "jwt:ann" and api_key.identity == "api_key:agent:abcd"


async def test_a_verified_token_is_remembered_only_as_that_exact_string_until_it_expires() -> None:
    from sportello.http.jwt_tokens import JwtConfig, JwtVerifier
    from tests.services.http.support import SECRET

    verifier = JwtVerifier(JwtConfig(secret=SECRET, audiences=("sportello",), leeway_seconds=30))
    expires = int(time.time()) + 300
    credential = token(sub="ann", exp=expires)
    assert verifier.verify(credential) == verifier.verify(credential)
    assert verifier._verified[credential][1] == expires + 30  # never beyond exp and the leeway
    head, payload, signature = credential.split(".")
    tampered = f"{head}.{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"  # 6 bits of the MAC
    with pytest.raises(Unauthorized, match="signature"):
        verifier.verify(tampered)
