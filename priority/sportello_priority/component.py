"""Priority as a runnable component: scores messages, keeps conversations' priorities and SLA
clocks (the ticker), and serves weights, SLA, press-list and correction APIs."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path

from sportello.runtime import Component, Context
from sportello_priority import state, ticker
from sportello_priority.endpoints import ROUTERS
from sportello_priority.handlers import subscriptions
from sportello_priority.settings import PrioritySettings
from sportello_priority.tables import metadata


async def _start(ctx: Context) -> None:
    state.start(ctx)


def _background(ctx: Context) -> list[Awaitable[None]]:
    return [ticker.run(ctx)]


COMPONENT = Component(
    name="priority",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    settings_cls=PrioritySettings,
    routers=ROUTERS,
    subscriptions=subscriptions,
    on_start=_start,
    background=_background,
)
