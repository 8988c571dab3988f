"""``make run``: one process, embedded PostgreSQL, in-process bus — the same flow as the real stack,
and the data survives a restart."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from sportello_deploy.processes import free_port, wait_until_serving

pytestmark = pytest.mark.e2e


class Embedded:
    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.log = log
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "sportello_deploy.embedded", "--data-dir", str(self.data_dir),
             "--port", str(self.port)],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )
        wait_until_serving(f"{self.url}/readyz", 90, process=self.popen,
                           describe=lambda: self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.popen is not None:
            self.popen.terminate()
            self.popen.wait(30)

    @property
    def postgres_running(self) -> bool:
        # PostgreSQL removes its pid file when it stops; a killed server leaves it behind, and its
        # next start checks that no process holds it
        return (self.data_dir / "postgres" / "postmaster.pid").exists()

    def headers(self, role: str) -> dict[str, str]:
        tokens = json.loads((self.data_dir / "api-tokens.json").read_text())
        return {"Authorization": f"Bearer {tokens[role]}"}


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Embedded]:
    process = Embedded(tmp_path / "data", tmp_path / "embedded.log")
    process.start()
    yield process
    process.stop()


def _wait_for_assignment(embedded: Embedded, conversation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = httpx.get(f"{embedded.url}/v1/conversations/{conversation_id}",
                             headers=embedded.headers("agent"))
        if response.status_code == 200:
            body = response.json()
            if body["assignment"]["state"] == "assigned" and body["messages"][0]["score"]:
                return body
        time.sleep(0.2)
    raise AssertionError(f"not assigned in time: {body}")


def test_make_run_serves_the_whole_flow_and_keeps_data_across_restarts(
    embedded: Embedded,
) -> None:
    message = {
        "channel": "chat",
        "external_id": uuid.uuid4().hex,
        "author": {"id": "anna", "display_name": "Anna"},
        "text": "Il modem non funziona da giorni, vergogna!",
        "sent_at": datetime.now(UTC).isoformat(),
    }
    response = httpx.post(f"{embedded.url}/v1/channels/api/messages", json=message,
                          headers=embedded.headers("integration"))
    assert response.status_code == 201, response.text
    conversation_id = response.json()["conversation_id"]
    body = _wait_for_assignment(embedded, conversation_id)
    assert body["messages"][0]["score"]["sentiment"]["label"] == "negative"
    assert body["assignment"]["agent"]["team"] in {"mobile", "fixed-line", "business"}
    assert httpx.get(f"{embedded.url}/docs").status_code == 200
    assert httpx.get(f"{embedded.url}/v1/conversations").status_code == 401

    embedded.stop()
    assert not embedded.postgres_running, "SIGTERM must stop the embedded PostgreSQL with the process"
    embedded.start()
    again = httpx.get(f"{embedded.url}/v1/conversations/{conversation_id}",
                      headers=embedded.headers("agent"))
    assert again.status_code == 200
    assert again.json()["assignment"]["state"] == "assigned"
    duplicate = httpx.post(f"{embedded.url}/v1/channels/api/messages", json=message,
                           headers=embedded.headers("integration"))
    assert duplicate.status_code == 200 and duplicate.json()["duplicate"] is True
