"""Run a real single-node Apache Kafka 4.x broker (KRaft) for dev and tests.

The broker is the official Kafka jars from Maven Central, fetched by Maven
using ``deploy/kafka/pom.xml`` and run with the machine's JDK (17+), so a
fresh clone needs nothing installed by hand beyond ``java`` and ``mvn``.

Library use::

    with KafkaBroker(tmp_path / "kafka") as broker:
        bootstrap = broker.bootstrap_servers   # "127.0.0.1:PORT"

Command line (run with ``deploy/`` on ``PYTHONPATH``)::

    python -m sportello_deploy.kafka jars
    python -m sportello_deploy.kafka start --data-dir DIR [--port N]
    python -m sportello_deploy.kafka stop --data-dir DIR

Only the standard library is used, so this runs before any project
dependency is installed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self, TypeVar

from sportello_deploy.pids import pid_alive, wait_gone

__all__ = [
    "DEFAULT_CACHE_DIR",
    "KafkaBroker",
    "KafkaError",
    "KafkaJarsError",
    "KafkaStartError",
    "ensure_kafka_jars",
    "kafka_version",
    "main",
    "stop_detached",
]

_DEPLOY_DIR = Path(__file__).resolve().parent.parent
_KAFKA_DEPLOY_DIR = _DEPLOY_DIR / "kafka"
_POM = _KAFKA_DEPLOY_DIR / "pom.xml"
_LOG4J2_CONFIG = _KAFKA_DEPLOY_DIR / "log4j2.properties"
_REPO_ROOT = _DEPLOY_DIR.parent

# Git-ignored; one sub-folder per Kafka version so bumping the pom never
# mixes jars of two releases on one classpath.
DEFAULT_CACHE_DIR = _REPO_ROOT / ".cache" / "kafka"

# Start-up is complete once both INFO lines are in the broker log, in order:
# BrokerLifecycleManager's "unfenced" line (the controller let this broker
# lead partitions), then KafkaRaftServer's final line. The first alone is not
# enough: the client listener is bound only after it, so a port taken by
# another process fails the broker *after* the RUNNING line.
_READY_LINES: tuple[str, ...] = (
    "Transitioning from RECOVERY to RUNNING",
    "Kafka Server started",
)

# Sized for a 2-core / 24 GB machine that also runs the test suite: a fixed
# small heap (no resize pauses, no surprise growth) and Kafka's own
# kafka-run-class.sh GC defaults.
_BROKER_JVM_OPTS: tuple[str, ...] = (
    "-Xms512m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)
# The storage tool runs for about a second: the C1 compiler alone and the
# serial collector make that short-lived JVM start faster.
_TOOL_JVM_OPTS: tuple[str, ...] = (
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
)

_T = TypeVar("_T")

_NODE_ID = 1
_MVN_TAIL_LINES = 40
_LOG_TAIL_LINES = 40
_MAX_ERROR_LINES = 20


class KafkaError(RuntimeError):
    """Base class for every failure of this module."""


class KafkaJarsError(KafkaError):
    """Maven could not provide the Kafka jars."""


class KafkaStartError(KafkaError):
    """The broker did not become ready (the message carries its log tail)."""


# --------------------------------------------------------------------------
# Jars
# --------------------------------------------------------------------------


def kafka_version(pom: Path = _POM) -> str:
    """Return the Kafka version pinned in ``deploy/kafka/pom.xml``."""
    match = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", pom.read_text())
    if match is None:
        raise KafkaJarsError(f"no <kafka.version> property in {pom}")
    return match.group(1)


def ensure_kafka_jars(cache_dir: Path | None = None) -> Path:
    """Make sure the broker's jars are on disk and return their folder.

    The jars land in ``<cache_dir>/<kafka version>/libs`` (``cache_dir``
    defaults to ``<repo>/.cache/kafka``). A stamp file holding the pom's hash
    makes later calls a couple of file reads; editing the pom refetches.
    Maven runs with the caller's environment, so ``MAVEN_OPTS`` (for example
    ``-Dmaven.repo.local=...``) and ``~/.m2/settings.xml`` apply as usual.
    """
    version_dir = (cache_dir or DEFAULT_CACHE_DIR) / kafka_version()
    libs = version_dir / "libs"
    stamp = version_dir / ".complete"
    want = _pom_digest()
    if _read_text(stamp) == want and libs.is_dir():
        return libs
    version_dir.mkdir(parents=True, exist_ok=True)
    # Parallel test workers may all call this on a fresh clone: the lock makes
    # one of them download while the others wait and then see the stamp.
    with _file_lock(version_dir / ".lock"):
        if _read_text(stamp) == want and libs.is_dir():
            return libs
        print(
            f"sportello_deploy.kafka: fetching Kafka {kafka_version()} jars with Maven into {libs}",
            file=sys.stderr,
            flush=True,
        )
        _download_jars(libs)
        stamp.write_text(want)
    return libs


def _pom_digest() -> str:
    return hashlib.sha256(_POM.read_bytes()).hexdigest()


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _download_jars(libs: Path) -> None:
    """Copy the pom's runtime classpath into ``libs``, replacing it whole.

    Maven writes into a scratch folder that is renamed into place only on
    success, so an interrupted download never leaves a half classpath that
    a later call would trust.
    """
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaJarsError("`mvn` is not on PATH; it is needed to fetch the Kafka jars")
    scratch = libs.with_name(f"{libs.name}.partial")
    shutil.rmtree(scratch, ignore_errors=True)
    command = [
        mvn,
        "-q",
        "-B",
        # Maven 3.8 colours even batch output; keep error tails readable.
        "-Dstyle.color=never",
        "-f",
        str(_POM),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={scratch}",
        "-DincludeScope=runtime",
    ]
    result = subprocess.run(
        command,
        check=False,
        cwd=_KAFKA_DEPLOY_DIR,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        tail = _last_lines(result.stdout + result.stderr, _MVN_TAIL_LINES)
        raise KafkaJarsError(
            f"mvn failed with exit code {result.returncode}: {' '.join(command)}\n{tail}"
        )
    kafka_jar = scratch / f"kafka_2.13-{kafka_version()}.jar"
    if not kafka_jar.is_file():
        raise KafkaJarsError(f"mvn succeeded but {kafka_jar.name} is missing from {scratch}")
    shutil.rmtree(libs, ignore_errors=True)
    scratch.rename(libs)


# --------------------------------------------------------------------------
# Broker
# --------------------------------------------------------------------------


class KafkaBroker:
    """One Kafka process acting as both KRaft controller and broker.

    Everything lives in ``data_dir``: ``server.properties``, the partition
    data (``kafka-data/``), the broker log (``logs/server.log``) and the
    JVM's own stdout/stderr (``kafka.out``). Starting again on the same
    folder keeps the topics; ports may differ between runs.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        libs_dir: Path | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.host = host
        self._requested_port = port
        self._libs_dir = libs_dir
        self._overrides = dict(overrides or {})
        self._port: int | None = port
        self._controller_port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None
        self._log_offset = 0

    # -- paths --------------------------------------------------------------

    @property
    def properties_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log_dir(self) -> Path:
        """The broker's ``log.dirs``: partition data and KRaft metadata."""
        return self.data_dir / "kafka-data"

    @property
    def server_log(self) -> Path:
        return self.data_dir / "logs" / "server.log"

    @property
    def stdout_file(self) -> Path:
        return self.data_dir / "kafka.out"

    # -- state --------------------------------------------------------------

    @property
    def port(self) -> int | None:
        """The client (PLAINTEXT) port, once given or chosen by ``start``."""
        return self._port

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for clients; known once a port is given or chosen."""
        if self._port is None:
            raise KafkaError("broker port not chosen yet: call start() first")
        return _host_port(self.host, self._port)

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle ----------------------------------------------------------

    def start(self, timeout: float = 60.0) -> str:
        """Start the broker, wait until it serves clients, return bootstrap.

        ``timeout`` covers formatting and start-up but not a first jar
        download. On failure the process is killed and ``KafkaStartError``
        carries the tail of its logs.
        """
        if self.is_running():
            raise KafkaError(f"broker already running (pid {self.pid})")
        libs = self._libs_dir or ensure_kafka_jars()
        deadline = time.monotonic() + timeout
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._choose_ports()
        self.properties_file.write_text(self._render_properties())
        if not self._is_formatted():
            self._format_storage(libs, deadline)
        # Only log text written after launch counts: server.log is appended
        # to across restarts of the same data_dir.
        self._log_offset = _file_size(self.server_log)
        self._launch(libs)
        try:
            self._wait_ready(deadline)
        except BaseException:
            # Never leave a half-started JVM behind, also on Ctrl-C.
            self.stop(timeout=5.0)
            raise
        return self.bootstrap_servers

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the broker (a clean shutdown), SIGKILL after ``timeout``.

        Safe to call more than once and on a broker that already died.
        """
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
        if self._out is not None:
            self._out.close()
            self._out = None

    def kill(self) -> None:
        """SIGKILL the broker: a crash, nothing flushed or closed cleanly. Safe on a dead broker."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        if self._out is not None:
            self._out.close()
            self._out = None

    def restart(self, timeout: float = 60.0, *, kill: bool = False, down_seconds: float = 0.0) -> str:
        """Stop the broker (SIGTERM, or SIGKILL with ``kill``) and start it again on the same data
        folder and the same client port, so clients holding the bootstrap address reconnect by
        themselves. ``down_seconds`` keeps it down that long in between. Returns the bootstrap.
        """
        if self._port is None:
            raise KafkaError("broker never started: nothing to restart")
        # Pin the client port chosen by the first start (a no-op when it was given).
        self._requested_port = self._port
        if kill:
            self.kill()
        else:
            self.stop()
        if down_seconds > 0:
            time.sleep(down_seconds)
        deadline = time.monotonic() + timeout
        # The old JVM's listener is gone once it exited, but give the kernel a moment if needed.
        while not _port_free(self.host, self._port) and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.start(timeout=max(deadline - time.monotonic(), 1.0))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- start-up steps -----------------------------------------------------

    def _choose_ports(self) -> None:
        # A fresh controller port every start is fine: with a static
        # controller.quorum.voters list the quorum endpoints are read from
        # server.properties, not stored in the metadata log.
        if self._requested_port is not None and not _port_free(self.host, self._requested_port):
            # Kafka would only notice after its RUNNING line, and a probe of
            # the port would then reach the other process: refuse up front.
            raise KafkaStartError(f"port {self._requested_port} on {self.host} is already in use")
        wanted = 1 if self._requested_port is not None else 2
        free = _free_ports(self.host, wanted, avoid=self._requested_port)
        self._port = self._requested_port if self._requested_port is not None else free.pop()
        self._controller_port = free.pop()

    def _render_properties(self) -> str:
        props = _server_properties(
            host=self.host,
            port=_require(self._port),
            controller_port=_require(self._controller_port),
            log_dir=self.log_dir,
        )
        props.update(self._overrides)
        lines = ["# Written by sportello_deploy.kafka on every start; edits are lost."]
        lines += [f"{key}={_escape_property(value)}" for key, value in props.items()]
        return "\n".join(lines) + "\n"

    def _is_formatted(self) -> bool:
        return (self.log_dir / "meta.properties").is_file()

    def _format_storage(self, libs: Path, deadline: float) -> None:
        """Write the KRaft ``meta.properties`` and bootstrap metadata once."""
        command = [
            _java(),
            *_TOOL_JVM_OPTS,
            *self._logging_opts(),
            "-cp",
            _classpath(libs),
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            _random_cluster_id(),
            "--config",
            str(self.properties_file),
        ]
        try:
            result = subprocess.run(
                command,
                check=False,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=max(deadline - time.monotonic(), 1.0),
            )
        except subprocess.TimeoutExpired as err:
            raise KafkaStartError("timed out formatting Kafka storage") from err
        if result.returncode != 0:
            tail = _last_lines(result.stdout + result.stderr, _LOG_TAIL_LINES)
            raise KafkaStartError(f"kafka storage format failed ({result.returncode}):\n{tail}")

    def _logging_opts(self) -> list[str]:
        return [
            f"-Dlog4j2.configurationFile={_LOG4J2_CONFIG}",
            f"-Dkafka.logs.dir={self.server_log.parent}",
        ]

    def _launch(self, libs: Path) -> None:
        command = [
            _java(),
            *_BROKER_JVM_OPTS,
            f"-XX:ErrorFile={self.data_dir / 'hs_err_pid%p.log'}",
            *self._logging_opts(),
            "-cp",
            _classpath(libs),
            "kafka.Kafka",
            str(self.properties_file),
        ]
        self._out = self.stdout_file.open("ab")
        self._proc = subprocess.Popen(
            command,
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            # Own session/process group: Ctrl-C in the caller's terminal does
            # not hit the JVM, stop() can signal the whole group, and the CLI
            # can exit leaving the broker running.
            start_new_session=True,
        )

    def _wait_ready(self, deadline: float) -> None:
        """Wait for the readiness log lines, then for the port to accept."""
        scanner = _LogScanner(self.server_log, self._log_offset)
        for line in _READY_LINES:
            while not scanner.find(line):
                self._check_alive_before(deadline, f"'{line}' in {self.server_log}")
                time.sleep(0.1)
        while not _accepts_connections(self.host, _require(self._port)):
            self._check_alive_before(deadline, f"port {self._port} to accept connections")
            time.sleep(0.05)
        # The last start-up step may still have failed between log and probe.
        self._check_alive_before(deadline, "the broker to stay up")

    def _check_alive_before(self, deadline: float, waiting_for: str) -> None:
        proc = _require(self._proc)
        code = proc.poll()
        if code is not None:
            raise KafkaStartError(f"Kafka exited with code {code} during start-up\n{self._tails()}")
        if time.monotonic() > deadline:
            raise KafkaStartError(f"timed out waiting for {waiting_for}\n{self._tails()}")

    def _tails(self) -> str:
        """Diagnostics for a failed start: errors since launch, then log tails.

        Kafka logs a long orderly shutdown after a fatal start-up error, so
        the cause is usually far above the tail; the ERROR lines carry it.
        """
        errors = _error_lines(self.server_log, self._log_offset, _MAX_ERROR_LINES)
        parts = [f"--- ERROR lines in {self.server_log} since launch ---\n{errors or '(none)'}"]
        for path in (self.server_log, self.stdout_file):
            tail = _tail_file(path, _LOG_TAIL_LINES) or "(empty)"
            parts.append(f"--- last lines of {path} ---\n{tail}")
        return "\n".join(parts)


def _server_properties(
    *, host: str, port: int, controller_port: int, log_dir: Path
) -> dict[str, str]:
    """Broker config for a single-node, combined-mode dev/test cluster."""
    return {
        # KRaft combined mode: this one JVM is the whole cluster. A static
        # voter list (rather than --standalone's dynamic quorum) keeps the
        # controller address out of the metadata log, so restarts may move it.
        "process.roles": "broker,controller",
        "node.id": str(_NODE_ID),
        "controller.quorum.voters": f"{_NODE_ID}@{_host_port(host, controller_port)}",
        "listeners": f"PLAINTEXT://{_host_port(host, port)},"
        f"CONTROLLER://{_host_port(host, controller_port)}",
        "advertised.listeners": f"PLAINTEXT://{_host_port(host, port)}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(log_dir),
        # One broker: every internal topic must fit a replication factor of 1
        # or the features depending on it (groups, transactions, share groups)
        # fail at first use rather than at start-up.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Internal topics default to 50 partitions each; creating those on the
        # first group or transaction costs seconds on 2 cores for nothing.
        "offsets.topic.num.partitions": "3",
        "transaction.state.log.num.partitions": "3",
        "share.coordinator.state.topic.num.partitions": "3",
        # Tests join a group once and expect messages at once: the default
        # 3 s wait for more members is pure latency here.
        "group.initial.rebalance.delay.ms": "0",
        "num.partitions": "3",
        # The application creates its topics through the admin API; a typo'd
        # topic name must fail loudly, not create a topic.
        "auto.create.topics.enable": "false",
    }


# --------------------------------------------------------------------------
# Detached brokers (CLI)
# --------------------------------------------------------------------------


def _state_file(data_dir: Path) -> Path:
    return data_dir / "broker.json"


def _read_state(data_dir: Path) -> dict[str, object] | None:
    text = _read_text(_state_file(data_dir))
    if text is None:
        return None
    state = json.loads(text)
    return state if isinstance(state, dict) else None


def _detached_pid(data_dir: Path) -> int | None:
    """Pid from ``broker.json`` if that process is still our live broker."""
    state = _read_state(data_dir)
    pid = None if state is None else state.get("pid")
    if not isinstance(pid, int) or not _is_our_broker(pid, data_dir):
        return None
    return pid


def _is_our_broker(pid: int, data_dir: Path) -> bool:
    # Pids are reused: only signal a live JVM running this data_dir's config.
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    props = str(data_dir / "server.properties").encode()
    return b"kafka.Kafka" in cmdline and props in cmdline


def stop_detached(data_dir: Path, timeout: float = 20.0) -> bool:
    """Stop a broker left running by the ``start`` command.

    Returns False if no broker of ``data_dir`` was running.
    """
    data_dir = Path(data_dir).resolve()
    pid = _detached_pid(data_dir)
    if pid is not None:
        _signal_group(pid, signal.SIGTERM)
        if not wait_gone(pid, timeout):
            _signal_group(pid, signal.SIGKILL)
            wait_gone(pid, 5.0)
    _state_file(data_dir).unlink(missing_ok=True)
    return pid is not None


def _cmd_start(data_dir: Path, port: int | None, timeout: float) -> int:
    data_dir = data_dir.resolve()
    running = _detached_pid(data_dir)
    state = _read_state(data_dir)
    if running is not None and state is not None:
        print(f"broker already running (pid {running})", file=sys.stderr)
        print(state.get("bootstrap_servers"))
        return 0
    broker = KafkaBroker(data_dir, port=port)
    bootstrap = broker.start(timeout=timeout)
    state = {"pid": broker.pid, "bootstrap_servers": bootstrap, "port": broker.port}
    _state_file(data_dir).write_text(json.dumps(state, indent=2) + "\n")
    # Deliberately no stop(): the broker is in its own session and outlives
    # this process; `stop --data-dir` ends it.
    print(bootstrap)
    return 0


def _cmd_stop(data_dir: Path, timeout: float) -> int:
    if not stop_detached(data_dir, timeout):
        print(f"no running broker for {data_dir}", file=sys.stderr)
    return 0


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sportello_deploy.kafka",
        description="Local single-node Kafka (KRaft) broker for dev and tests.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("jars", help="fetch the Kafka jars and print their folder")
    start = commands.add_parser("start", help="start a detached broker, print its bootstrap")
    start.add_argument("--data-dir", type=Path, required=True)
    start.add_argument("--port", type=int, default=None, help="client port (default: a free one)")
    start.add_argument("--timeout", type=float, default=60.0)
    stop = commands.add_parser("stop", help="stop the broker started for --data-dir")
    stop.add_argument("--data-dir", type=Path, required=True)
    stop.add_argument("--timeout", type=float, default=20.0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        if args.command == "jars":
            print(ensure_kafka_jars())
            return 0
        if args.command == "start":
            return _cmd_start(args.data_dir, args.port, args.timeout)
        return _cmd_stop(args.data_dir, args.timeout)
    except KafkaError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


class _LogScanner:
    """Finds lines, in order, in a growing log file read from an offset.

    Only bytes not yet read are loaded on each call; text after the last
    match stays buffered so the next, later line can still be found in it.
    """

    def __init__(self, path: Path, offset: int) -> None:
        self._path = path
        self._offset = offset
        self._buffer = ""

    def find(self, needle: str) -> bool:
        """True once ``needle`` appeared after the previously found line."""
        self._read_new()
        index = self._buffer.find(needle)
        if index < 0:
            # Keep only a needle-length tail: enough for a needle split
            # across two reads, without holding the whole log in memory.
            self._buffer = self._buffer[-len(needle) :]
            return False
        self._buffer = self._buffer[index + len(needle) :]
        return True

    def _read_new(self) -> None:
        size = _file_size(self._path)
        if size < self._offset:
            # log4j rolled the file over: the new file is all fresh output.
            self._offset = 0
        if size == self._offset:
            return
        with self._path.open("rb") as handle:
            handle.seek(self._offset)
            chunk = handle.read()
        self._offset += len(chunk)
        self._buffer += chunk.decode("utf-8", errors="replace")


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise KafkaStartError("no `java` on PATH and no usable JAVA_HOME (Kafka 4 needs JDK 17+)")
    return java


def _classpath(libs: Path) -> str:
    # The JVM expands "dir/*" itself; no shell involved.
    return str(libs / "*")


def _random_cluster_id() -> str:
    """A Kafka cluster id: a random UUID as unpadded URL-safe base64.

    Same format as ``kafka-storage random-uuid``, without paying for a JVM
    start. Kafka rejects ids starting with "-" (they look like CLI flags).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _free_ports(host: str, count: int, avoid: int | None = None) -> list[int]:
    """Ask the OS for ``count`` distinct free ports on ``host``.

    All sockets stay open until every port is chosen so the OS cannot hand
    out the same port twice. The broker binds a moment later; that small
    race is accepted for a test broker.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        ports: list[int] = []
        while len(ports) < count:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
            if port != avoid:
                ports.append(port)
        return ports
    finally:
        for sock in sockets:
            sock.close()


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # Same option the JVM's server sockets use, so a port in TIME_WAIT
        # after a previous broker on it still counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # The broker leads its own process group (start_new_session=True).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _escape_property(value: str) -> str:
    # java.util.Properties treats backslash as an escape character.
    return value.replace("\\", "\\\\")


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _last_lines(text: str, count: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-count:])


def _error_lines(path: Path, offset: int, count: int) -> str:
    """The first ``count`` ERROR/FATAL entries after ``offset``, each with the
    line after it (for a stack trace, the exception and its message)."""
    if _file_size(path) < offset:
        offset = 0  # rolled over since launch: the whole file is new
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            lines = handle.read().decode("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    picked: list[str] = []
    for index, line in enumerate(lines):
        if " ERROR " in line or " FATAL " in line:
            picked += lines[index : index + 2]
            if len(picked) >= 2 * count:
                break
    return "\n".join(picked)


def _tail_file(path: Path, count: int) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(max(_file_size(path) - 64 * 1024, 0))
            return _last_lines(handle.read().decode("utf-8", errors="replace"), count)
    except FileNotFoundError:
        return "(no such file)"


def _require(value: _T | None) -> _T:
    if value is None:
        raise KafkaError("internal error: broker state missing")
    return value


if __name__ == "__main__":
    sys.exit(main())
