"""A throw-away real stack: a private Kafka broker, PostgreSQL and the five services as processes.

Used by the benchmark, the replay tool and the fault tests, which must measure the real thing without
touching a stack started with ``make up``. Everything lives in a temporary directory removed on exit.
The fault tests crash and restart parts of it: :meth:`PrivateStack.restart_service`,
:meth:`PrivateStack.restart_kafka` and :meth:`PrivateStack.restart_postgres` bring each back on the
same port, socket and data, so the other parts only ever see an outage, never a new address.
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
from sportello_deploy.postgres import EmbeddedPostgres, StopMode, start_postgres
from sportello_deploy.processes import (
    SERVICES,
    ServiceProcess,
    base_env,
    free_port,
    link_gateway,
    migrate_all,
)


@dataclass(frozen=True)
class PrivateStack:
    work: Path
    bootstrap: str
    database_url: str
    tokens: dict[str, str]
    services: dict[str, ServiceProcess]
    broker: KafkaBroker | None = None
    postgres: EmbeddedPostgres | None = None

    def url(self, service: str) -> str:
        return self.services[service].url

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def log_path(self, service: str) -> Path:
        return self.services[service].log_path

    def restart_service(self, name: str, *, timeout: float = 90.0) -> None:
        """SIGKILL the service (a crash: no graceful shutdown) and start it again on its port."""
        service = self.services[name]
        service.kill()
        service.start()
        service.wait_ready(timeout=timeout)

    def restart_kafka(self, *, kill: bool = False, down_seconds: float = 0.0,
                      timeout: float = 120.0) -> None:
        """Stop the broker (SIGTERM, or SIGKILL with ``kill``) and start it on the same port and data."""
        if self.broker is None:
            raise RuntimeError("this stack has no broker handle")
        bootstrap = self.broker.restart(timeout=timeout, kill=kill, down_seconds=down_seconds)
        if bootstrap != self.bootstrap:
            raise RuntimeError(f"broker came back on {bootstrap}, not {self.bootstrap}")

    def restart_postgres(self, *, mode: StopMode = "fast", down_seconds: float = 0.0) -> None:
        """Stop PostgreSQL (pg_ctl ``mode``: fast, or immediate for a crash) and start it again."""
        if self.postgres is None:
            raise RuntimeError("this stack has no PostgreSQL handle")
        self.postgres.restart(mode=mode, down_seconds=down_seconds)


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
        link_gateway(services.values())
        for service in services.values():
            service.start()
        for service in services.values():
            service.wait_ready(timeout=90)
        yield PrivateStack(work, bootstrap, database_url, api_tokens, services, broker, postgres)
    finally:
        for service in services.values():
            service.terminate(timeout=20)
        broker.stop()
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(work, ignore_errors=True)
