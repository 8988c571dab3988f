"""Development credentials: private files, stable across restarts, tokens the real verifier accepts."""

from __future__ import annotations

import stat
from pathlib import Path

from pydantic import SecretStr

from sportello.http.auth import authenticator_from
from sportello.settings import ServiceSettings
from sportello_deploy import tokens


def test_the_jwt_secret_is_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "dev" / "jwt-secret"
    secret = tokens.load_or_create_jwt_secret(path)
    assert len(secret) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tokens.load_or_create_jwt_secret(path) == secret


def test_a_dev_token_is_accepted_by_the_services(tmp_path: Path) -> None:
    secret = tokens.load_or_create_jwt_secret(tmp_path / "jwt-secret")
    api_keys = tokens.load_or_create(tmp_path / "api-tokens.json")
    settings = ServiceSettings(api_tokens=SecretStr(tokens.spec(api_keys)), jwt_secret=SecretStr(secret),
                               jwt_issuer=tokens.DEV_ISSUER)
    credential = tokens.dev_jwt(secret, subject="dev-ann", teams=["billing"], agent_id="agent-1")
    principal = authenticator_from(settings).authenticate(f"Bearer {credential}")
    assert (principal.kind, principal.role, principal.subject) == ("jwt", "agent", "dev-ann")
    assert (principal.agent_id, principal.teams) == ("agent-1", frozenset({"billing"}))
    assert authenticator_from(settings).authenticate(f"Bearer {api_keys['admin']}").kind == "api_key"
