"""docker-compose.yml (for users who have Docker): its commands are real entry points and its
environment only real settings."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
MODULES = ("sportello_ingest", "sportello_priority", "sportello_assignment", "sportello_crm_sync",
           "sportello_gateway")


def settings_names() -> set[str]:
    names: set[str] = set()
    for module in MODULES:
        cls = importlib.import_module(f"{module}.component").COMPONENT.settings_cls
        names |= {f"SPORTELLO_{field.upper()}" for field in cls.model_fields}
    return names


def test_every_sportello_variable_is_a_setting() -> None:
    known = settings_names()
    for name, service in COMPOSE["services"].items():
        for variable in service.get("environment") or {}:
            if variable.startswith("SPORTELLO_"):
                assert variable in known, f"{name}: {variable}"


def test_every_command_names_a_service_module_and_a_cli_command() -> None:
    for name, service in COMPOSE["services"].items():
        command = " ".join(service.get("command") or [])
        for module, verb in re.findall(r"-m (sportello_[a-z_$]+) (\w+)", command):
            modules = MODULES if "$" in module else (module,)
            assert set(modules) <= set(MODULES), f"{name}: {module}"
            assert verb in {"serve", "migrate", "topics"}, f"{name}: {verb}"
