"""Assignment as a runnable component: schema, migrations, routes, the router of scored messages,
the follower of replies and resolutions, the timer sweep, and the seeding of agents at start."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path

from sportello.runtime import Component, Context
from sportello_assignment import agents, sweeps
from sportello_assignment.endpoints import agents_router, queue_router, routing_router, teams_router
from sportello_assignment.handlers import subscriptions
from sportello_assignment.routing import drain_all
from sportello_assignment.schemas import SeedAgents
from sportello_assignment.settings import AssignmentSettings
from sportello_assignment.tables import metadata


async def _start(ctx: Context) -> None:
    assert isinstance(ctx.settings, AssignmentSettings)
    settings, rules = ctx.settings, ctx.settings.rules()
    async with ctx.db.transaction() as tx:
        if settings.assignment_seed_agents.strip():
            # Invalid JSON or an invalid agent fails the start: a half-seeded team is worse than none.
            seeds = SeedAgents.validate_json(settings.assignment_seed_agents)
            await agents.seed_agents(tx, seeds, rules, settings.assignment_default_capacity)
        await agents.announce_unannounced(tx)
        # Room left unused while no replica ran (or by a crash mid-drain) is offered at start.
        await drain_all(tx, rules, datetime.now(UTC))


def _background(ctx: Context) -> list[Awaitable[None]]:
    return [sweeps.run(ctx)]


COMPONENT = Component(
    name="assignment",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    settings_cls=AssignmentSettings,
    routers=(agents_router, teams_router, queue_router, routing_router),
    subscriptions=subscriptions,
    on_start=_start,
    background=_background,
)
