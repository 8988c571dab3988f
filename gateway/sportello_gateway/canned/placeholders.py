"""Placeholders in a canned response's text: `{{customer.name}}` and the like, filled from the
conversation the agent is replying in."""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import RowMapping

# Anything between double braces is a placeholder, so a typo ({{customer.nmae}}) is reported
# rather than sent to a customer verbatim.
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")

# Placeholder -> the read-model column of the conversation it is filled from.
SOURCES: Mapping[str, str] = {
    "customer.name": "customer_display_name",
    "agent.name": "agent_name",
    "conversation.channel": "channel",
}


def unknown_placeholders(text: str) -> list[str]:
    return sorted({name for name in PLACEHOLDER.findall(text) if name not in SOURCES})


def render(text: str, conversation: RowMapping) -> tuple[str, list[str]]:
    """The text with every known placeholder filled, and those the conversation has no value for
    (left empty). Call only once :func:`unknown_placeholders` is empty."""
    missing: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        value = conversation[SOURCES[name]]
        if value is None:
            missing.add(name)
            return ""
        return str(value)

    return PLACEHOLDER.sub(fill, text), sorted(missing)
