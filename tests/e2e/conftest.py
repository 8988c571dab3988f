"""The five services as separate processes on the session's real Kafka and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sportello_deploy.postgres import EmbeddedPostgres
from sportello_deploy.processes import (
    ServiceProcess,
    base_env,
    free_port,
    migrate_all,
    wait_until_serving,
)
from tests.support.app import TOKENS_SPEC

ROOT = Path(__file__).resolve().parents[2]

AGENTS = [
    {"name": "Giulia", "team": "mobile", "capacity": 50, "presence": "online"},
    {"name": "Marco", "team": "fixed-line", "capacity": 50, "presence": "online"},
]


@dataclass
class Stack:
    services: dict[str, ServiceProcess]
    crm_url: str

    def url(self, name: str) -> str:
        return self.services[name].url

    def restart(self, name: str) -> None:
        service = self.services[name]
        service.start()
        service.wait_ready(timeout=60)



@pytest.fixture(scope="package")
def stack(kafka_bootstrap: str, postgres: EmbeddedPostgres,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("e2e-logs")
    crm_port = free_port()
    crm = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_crm", "--port", str(crm_port)], cwd=ROOT,
        stdout=(logs / "fake-crm.log").open("wb"), stderr=subprocess.STDOUT,
    )
    crm_url = f"http://127.0.0.1:{crm_port}"
    env = base_env(
        postgres.create_database("sportello_e2e"), kafka_bootstrap, TOKENS_SPEC,
        SPORTELLO_ENVIRONMENT="test",
        SPORTELLO_ASSIGNMENT_SEED_AGENTS=json.dumps(AGENTS),
        SPORTELLO_CRM_URL=crm_url,
        SPORTELLO_CRM_TOKEN="crm-test-token-0123456789",
        SPORTELLO_OUTBOX_POLL_SECONDS="0.2",
        SPORTELLO_CONSUMER_RETRY_BACKOFF_SECONDS="0.05",
        SPORTELLO_SHUTDOWN_GRACE_SECONDS="10",
        # Webhook subscribers are local fakes here, and outages should take seconds, not hours.
        SPORTELLO_WEBHOOK_ALLOW_INSECURE_URLS="true",
        SPORTELLO_DELIVERY_POLL_SECONDS="0.1",
        SPORTELLO_WEBHOOK_RETRY_BASE_SECONDS="0.2",
        SPORTELLO_WEBHOOK_RETRY_CAP_SECONDS="1",
        PYTHONPATH=str(ROOT),
    )
    migrate_all(env)
    services = {
        name: ServiceProcess(name, free_port(), env, logs / f"{name}.log")
        for name in ("ingest", "priority", "assignment", "crm-sync", "gateway")
    }
    try:
        for service in services.values():
            service.start()
        for service in services.values():
            service.wait_ready(timeout=90)
        wait_until_serving(f"{crm_url}/_fake/state", 20, process=crm)
        yield Stack(services, crm_url)
    finally:
        for service in services.values():
            service.terminate(timeout=20)
        crm.terminate()
        crm.wait(10)
