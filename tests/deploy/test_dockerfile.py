"""The one image: multi-stage, slim, not root, and it installs every service the manifests run."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()
SERVICE_DIRS = ("services", "ingest", "priority", "assignment", "crm-sync", "gateway")


def stages() -> list[list[str]]:
    """The Dockerfile's instructions, one list per stage (continuation lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    result: list[list[str]] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            result.append([])
        result[-1].append(line)
    return result


def test_it_builds_in_stages_and_runs_slim() -> None:
    built = stages()
    assert len(built) >= 2
    assert all(re.match(r"FROM python:3\.11-slim\b", stage[0]) for stage in built)
    final = built[-1]
    assert not any(line.startswith("COPY ") and "--from=" not in line for line in final), \
        "the final stage takes only the build stage's output"


def test_the_final_stage_runs_as_a_numeric_non_root_user() -> None:
    [user] = [line for line in stages()[-1] if line.upper().startswith("USER ")]
    uid = user.split()[1].split(":")[0]
    assert uid.isdigit() and int(uid) > 0  # numeric, so runAsNonRoot can check it
    manifests = "\n".join(p.read_text() for p in (ROOT / "k8s").rglob("*.yaml"))
    assert f"runAsUser: {uid}" in manifests


def test_every_service_package_is_built_and_installed() -> None:
    names = [tomllib.loads((ROOT / d / "pyproject.toml").read_text())["project"]["name"]
             for d in SERVICE_DIRS]
    build, final = stages()[0], stages()[-1]
    for directory in SERVICE_DIRS:
        assert any(line.startswith(f"COPY {directory} ") for line in build), directory
    installed = " ".join(line for line in final if line.startswith("RUN "))
    for name in names:
        assert name in installed, name


def test_the_default_command_is_a_real_entry_point() -> None:
    [cmd] = [line for line in stages()[-1] if line.startswith("CMD ")]
    module = re.search(r'"-m", "(\w+)"', cmd)
    assert module is not None
    assert any((ROOT / d / module.group(1) / "__main__.py").exists() for d in SERVICE_DIRS)
