"""Assignment as a runnable component: schema, migrations, routes, the router of scored messages
and the seeding of agents at start."""

from pathlib import Path

from sportello.handling import subscription
from sportello.runtime import Component, Context
from sportello.topics import MESSAGES_SCORED, Groups
from sportello_assignment import service
from sportello_assignment.endpoints import agents_router, queue_router
from sportello_assignment.handlers import ROUTES
from sportello_assignment.schemas import SeedAgents
from sportello_assignment.settings import AssignmentSettings
from sportello_assignment.tables import metadata


async def seed_agents(ctx: Context) -> None:
    assert isinstance(ctx.settings, AssignmentSettings)
    if not ctx.settings.assignment_seed_agents.strip():
        return
    # Invalid JSON or an invalid agent fails the start: a half-seeded team is worse than none.
    seeds = SeedAgents.validate_json(ctx.settings.assignment_seed_agents)
    async with ctx.db.transaction() as tx:
        await service.seed_agents(tx, seeds)


COMPONENT = Component(
    name="assignment",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    settings_cls=AssignmentSettings,
    routers=(agents_router, queue_router),
    subscriptions=lambda ctx: [
        subscription(ctx, Groups.ASSIGNMENT_ROUTER, (MESSAGES_SCORED,), ROUTES),
    ],
    on_start=seed_agents,
)
