"""Development API tokens: generated once per data folder, kept in a 0600 file, never logged."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

ROLES = ("admin", "supervisor", "agent", "integration")


def load_or_create(path: Path) -> dict[str, str]:
    if path.exists():
        tokens: dict[str, str] = json.loads(path.read_text())
        return tokens
    tokens = {role: f"spt_{role}_{secrets.token_urlsafe(24)}" for role in ROLES}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(tokens, indent=2))
    return tokens


def spec(tokens: dict[str, str]) -> str:
    return ",".join(f"{role}={token}" for role, token in tokens.items())
