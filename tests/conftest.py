"""Session-wide real infrastructure: one embedded PostgreSQL server (and one Kafka broker, started
on first use by the tests that need it). Nothing here is mocked."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sportello_deploy.postgres import EmbeddedPostgres, start_postgres

ROOT = Path(__file__).resolve().parents[1]
RUN_DIR = ROOT / ".cache" / "test-run"
_database_names = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    data_dir = RUN_DIR / f"pg-{os.getpid()}"
    shutil.rmtree(data_dir, ignore_errors=True)
    server = start_postgres(data_dir)
    yield server
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(postgres: EmbeddedPostgres) -> str:
    """A database shared by the session's integration tests (tests use unique ids, not truncation)."""
    return postgres.create_database("sportello_test")


@pytest.fixture
def fresh_database_url(postgres: EmbeddedPostgres) -> str:
    """A brand-new empty database, for tests that need to observe everything that happens."""
    return postgres.create_database(f"sportello_t{next(_database_names)}")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """One real Kafka broker (KRaft, official jars) for the whole session, started on first use."""
    from sportello_deploy.kafka import KafkaBroker

    data_dir = RUN_DIR / f"kafka-{os.getpid()}"
    shutil.rmtree(data_dir, ignore_errors=True)
    broker = KafkaBroker(data_dir)
    bootstrap = broker.start(timeout=90)
    yield bootstrap
    broker.stop()
    shutil.rmtree(data_dir, ignore_errors=True)
