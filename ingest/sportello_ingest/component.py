"""Ingest as a runnable component: schema, migrations, routes. It consumes nothing yet."""

from pathlib import Path

from sportello.runtime import Component
from sportello_ingest.endpoints import router
from sportello_ingest.tables import metadata

COMPONENT = Component(
    name="ingest",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    routers=(router,),
)
