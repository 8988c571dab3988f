"""A throw-away real stack: a private Kafka broker, PostgreSQL and the five services as processes.

Used by the benchmark and the replay tool, which must measure the real thing without touching a stack
started with ``make up``. Everything lives in a temporary directory removed on exit.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sportello_deploy import tokens
from sportello_deploy.kafka import KafkaBroker
from sportello_deploy.postgres import start_postgres
from sportello_deploy.processes import SERVICES, ServiceProcess, base_env, free_port, migrate_all


@dataclass(frozen=True)
class PrivateStack:
    work: Path
    bootstrap: str
    database_url: str
    tokens: dict[str, str]
    services: dict[str, ServiceProcess]

    def url(self, service: str) -> str:
        return self.services[service].url

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@contextmanager
def private_stack(prefix: str, **extra_env: str) -> Iterator[PrivateStack]:
    work = Path(tempfile.mkdtemp(prefix=f"sportello-{prefix}-"))
    broker = KafkaBroker(work / "kafka")
    services: dict[str, ServiceProcess] = {}
    postgres = None
    try:
        bootstrap = broker.start(timeout=90)
        postgres = start_postgres(work / "postgres")
        database_url = postgres.create_database(prefix.replace("-", "_"))
        api_tokens = tokens.load_or_create(work / "tokens.json")
        env = base_env(database_url, bootstrap, tokens.spec(api_tokens), **extra_env)
        migrate_all(env)
        services = {name: ServiceProcess(name, free_port(), env, work / "logs" / f"{name}.log")
                    for name in SERVICES}
        for service in services.values():
            service.start()
        for service in services.values():
            service.wait_ready(timeout=90)
        yield PrivateStack(work, bootstrap, database_url, api_tokens, services)
    finally:
        for service in services.values():
            service.terminate(timeout=20)
        broker.stop()
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(work, ignore_errors=True)
