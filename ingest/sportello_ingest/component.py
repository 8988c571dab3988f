"""Ingest as a runnable component: schema, migrations, channel webhooks and APIs, the outbound sender
and the snooze timer."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path

from sportello.runtime import Component, Context
from sportello_ingest import snoozes
from sportello_ingest.channels import registry
from sportello_ingest.endpoints import ROUTERS
from sportello_ingest.endpoints.common import CHANNELS, channels_of
from sportello_ingest.sender import Sender
from sportello_ingest.settings import IngestSettings
from sportello_ingest.tables import metadata


async def _start(ctx: Context) -> None:
    settings = ctx.settings
    assert isinstance(settings, IngestSettings)
    ctx.state[CHANNELS] = registry.build(settings)


def _background(ctx: Context) -> list[Awaitable[None]]:
    return [Sender(ctx, channels_of(ctx)).run(), snoozes.run(ctx)]


COMPONENT = Component(
    name="ingest",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    settings_cls=IngestSettings,
    routers=ROUTERS,
    on_start=_start,
    background=_background,
)
