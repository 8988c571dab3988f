"""The configuration scoring reads on every message — weights profiles, SLA policies and their
calendars, the press list — loaded from the database and cached briefly per process.

With several replicas a change made through one is seen by the others within
``config_cache_seconds``; the replica that made it applies it at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from sportello_priority.repository import ScoreRepository
from sportello_priority.settings import PrioritySettings, normalise_handle
from sportello_priority.sla import BusinessCalendar, SlaPolicy
from sportello_priority.sla_specs import DEFAULT_POLICIES, build_policies
from sportello_priority.weights import DEFAULT_PROFILE, DEFAULT_WEIGHTS, Weights, candidate_profiles


@dataclass(frozen=True)
class PriorityConfig:
    weights: dict[str, Weights]
    policies: list[SlaPolicy]
    calendars: dict[str, BusinessCalendar]
    press: frozenset[str]
    tier_values: dict[str, float]

    def weights_for(self, team: str | None, account: str | None) -> tuple[str, Weights]:
        for name in candidate_profiles(team, account):
            if name in self.weights:
                return name, self.weights[name]
        return DEFAULT_PROFILE, DEFAULT_WEIGHTS

    def policy(self, name: str | None) -> SlaPolicy | None:
        return next((p for p in self.policies if p.name == name), None)

    def on_press_list(self, handle: str | None) -> bool:
        return bool(handle) and normalise_handle(handle or "") in self.press


class ConfigCache:
    def __init__(self, settings: PrioritySettings) -> None:
        self.settings = settings
        self._config: PriorityConfig | None = None
        self._loaded_at = 0.0

    def invalidate(self) -> None:
        self._config = None

    async def get(self, session: AsyncSession) -> PriorityConfig:
        fresh = time.monotonic() - self._loaded_at < self.settings.config_cache_seconds
        if self._config is None or not fresh:
            return await self.fresh(session)
        return self._config

    async def fresh(self, session: AsyncSession) -> PriorityConfig:
        """Read from the database now (and keep it): for work queued by a change this process
        may not have seen."""
        self._config = await load(session, self.settings)
        self._loaded_at = time.monotonic()
        return self._config


async def load(session: AsyncSession, settings: PrioritySettings) -> PriorityConfig:
    repo = ScoreRepository(session)
    weights = {name: Weights.model_validate(values)
               for name, values in (await repo.weight_profiles()).items()}
    calendars, policies = build_policies(await repo.specs("calendars"),
                                         await repo.specs("sla_policies"))
    if not any(policy.channels is None for policy in policies):
        # Channels no configured policy names still get the built-in one, after the admin's.
        policies = [*policies, *DEFAULT_POLICIES]
    return PriorityConfig(
        weights=weights, policies=policies, calendars=calendars,
        press=frozenset(settings.press_list() | set(await repo.press_handles())),
        tier_values={k.lower(): v for k, v in settings.tier_values.items()},
    )
