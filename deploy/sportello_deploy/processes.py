"""The five services as separate OS processes, as in production: used by ``make up``, the
end-to-end tests and the benchmark."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Service name -> package. The order is the start order: producers of events before consumers is not
# needed (Kafka buffers), but the gateway last means "ready" really means the whole path is up.
SERVICES: dict[str, str] = {
    "ingest": "sportello_ingest",
    "priority": "sportello_priority",
    "assignment": "sportello_assignment",
    "crm-sync": "sportello_crm_sync",
    "gateway": "sportello_gateway",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def migrate_all(env: dict[str, str]) -> None:
    """Run every service's migrations once, before any replica starts."""
    for package in SERVICES.values():
        subprocess.run([sys.executable, "-m", package, "migrate"], env=env, check=True,
                       capture_output=True, timeout=120)


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**self.env, "SPORTELLO_HTTP_PORT": str(self.port),
               "SPORTELLO_HTTP_HOST": "127.0.0.1", "SPORTELLO_KAFKA_CLIENT_ID": f"sportello-{self.name}"}
        with self.log_path.open("ab") as log:
            # Own session: a Ctrl-C in the terminal that ran `make up` must not kill the stack.
            self.popen = subprocess.Popen(
                [sys.executable, "-m", SERVICES[self.name], "serve", "--no-migrate"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        wait_until_serving(f"{self.url}/readyz", timeout, process=self.popen, describe=self.tail)

    def terminate(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (graceful: finish the batch, commit, flush the outbox), SIGKILL if it hangs."""
        if self.popen is None or self.popen.poll() is not None:
            return self.popen.returncode if self.popen else None
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        """SIGKILL: a crash, nothing gets the chance to clean up."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def link_gateway(services: Iterable[ServiceProcess]) -> None:
    """Give the gateway every other service's URL: it proxies their routes and merges their OpenAPI
    documents, so front-ends see one API on the gateway's port, as in production."""
    by_name = {service.name: service for service in services}
    gateway = by_name.get("gateway")
    if gateway is None:
        return
    upstreams = {name: service.url for name, service in sorted(by_name.items()) if name != "gateway"}
    # A copy: the services of a stack share one env dict.
    gateway.env = {**gateway.env, "SPORTELLO_GATEWAY_UPSTREAMS": json.dumps(upstreams)}


def wait_until_serving(
    url: str,
    timeout: float,
    *,
    process: subprocess.Popen[bytes] | None = None,
    describe: Callable[[], str] = lambda: "",
) -> None:
    """Poll ``url`` until it answers 200; fail early if ``process`` (the server) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {process.returncode}:\n{describe()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback URL)
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not serving after {timeout}s:\n{describe()}")


def base_env(database_url: str, bootstrap: str, tokens: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPORTELLO_")}
    env.update(
        SPORTELLO_DATABASE_URL=database_url,
        SPORTELLO_BUS="kafka",
        SPORTELLO_KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        SPORTELLO_API_TOKENS=tokens,
        SPORTELLO_ROLE="all",
        **extra,
    )
    return env
