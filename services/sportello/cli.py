"""The command line every service shares: ``python -m sportello_<service> serve|migrate``.

A service may add its own commands (ingest's ``replay``) as :class:`Command` objects.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import uvicorn

from sportello.db.migrations import revision
from sportello.observability.logging import configure_logging
from sportello.runtime import Component, create_app, migrate
from sportello.settings import ServiceSettings


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, ServiceSettings], None]


def main(components: Sequence[Component], argv: Sequence[str] | None = None,
         commands_extra: Sequence[Command] = ()) -> None:
    name = "+".join(component.name for component in components)
    parser = argparse.ArgumentParser(prog=f"sportello-{name}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve HTTP and/or run workers (SPORTELLO_ROLE)")
    serve.add_argument("--role", choices=["api", "worker", "all"], default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--no-migrate", action="store_true", help="assume migrations already ran")
    commands.add_parser("migrate", help="apply database migrations and exit")
    commands.add_parser("topics", help="create every registered Kafka topic and its dead-letter "
                                       "topic (SPORTELLO_KAFKA_PARTITIONS partitions) and exit")
    new_revision = commands.add_parser("revision", help="autogenerate a migration (development)")
    new_revision.add_argument("-m", "--message", required=True)
    for command in commands_extra:
        command.add_arguments(commands.add_parser(command.name, help=command.help))
    args = parser.parse_args(argv)

    settings = components[0].settings_cls()
    for command in commands_extra:
        if args.command == command.name:
            # A command's stdout is its output (``score`` writes JSON lines there): logs go to stderr.
            configure_logging(settings.log_level, json=settings.log_json, service=name,
                              stream=sys.stderr)
            command.run(args, settings)
            return
    if args.command == "migrate":
        configure_logging(settings.log_level, json=settings.log_json, service=name)
        asyncio.run(migrate(components, settings))
        return
    if args.command == "topics":
        from sportello.bus.kafka import ensure_topics

        configure_logging(settings.log_level, json=settings.log_json, service=name)
        asyncio.run(ensure_topics(settings))
        return
    if args.command == "revision":
        for component in components:
            revision(settings.database_url_plain(), component.migrations, args.message)
        return
    overrides = {"role": args.role, "http_port": args.port}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    app = create_app(components, settings, title=f"Sportello {name}",
                     migrate_on_start=not args.no_migrate)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )
