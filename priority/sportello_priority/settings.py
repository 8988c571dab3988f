"""Priority's settings (``SPORTELLO_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from sportello.settings import ServiceSettings


class PrioritySettings(ServiceSettings):
    # A model built by `python -m sportello_priority train`; empty: the shipped default.
    sentiment_model_path: Path | None = None
    # Handles whose messages jump the queue (journalists, analysts, regulators), comma separated,
    # with or without '@'; more can be added through the API.
    press_handles: str = ""
    # CRM tier (case-insensitive) -> influence value in [0, 1]; a VIP flag always counts as 1.
    tier_values: dict[str, float] = Field(default_factory=lambda: {
        "platinum": 1.0, "enterprise": 1.0, "gold": 0.7, "business": 0.6, "silver": 0.4,
        "bronze": 0.2,
    })
    # SLA checkpoints: how often to look for the ones come due, and how many to take at a time.
    sla_tick_seconds: float = Field(default=1.0, gt=0)
    sla_batch_size: int = Field(default=200, ge=1)
    # Configuration (weights, SLA policies, calendars, press list) read from the database is
    # cached this long per process; a change made through this process applies at once.
    config_cache_seconds: float = Field(default=5.0, ge=0)

    def press_list(self) -> set[str]:
        return {normalise_handle(h) for h in self.press_handles.split(",") if h.strip()}


def normalise_handle(handle: str) -> str:
    return handle.strip().lstrip("@").lower()
