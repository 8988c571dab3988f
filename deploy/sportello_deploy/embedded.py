"""``make run``: the whole product in one process, with only Python installed.

The embedded PostgreSQL keeps its data in ``--data-dir`` across restarts; the five services share one
in-process bus (same contract as Kafka) and one FastAPI app on one port. This module is the one place
allowed to import every service: it is a composition root, not a service.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import uvicorn
from pydantic import SecretStr

from sportello.runtime import Component, create_app
from sportello.settings import ServiceSettings
from sportello_deploy import demo, tokens
from sportello_deploy.lifecycle import exit_normally_on_sigterm
from sportello_deploy.postgres import start_postgres


def components() -> list[Component]:
    from sportello_assignment.component import COMPONENT as ASSIGNMENT
    from sportello_crm_sync.component import COMPONENT as CRM_SYNC
    from sportello_gateway.component import COMPONENT as GATEWAY
    from sportello_ingest.component import COMPONENT as INGEST
    from sportello_priority.component import COMPONENT as PRIORITY

    return [INGEST, PRIORITY, ASSIGNMENT, CRM_SYNC, GATEWAY]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sportello_deploy.embedded")
    parser.add_argument("--data-dir", type=Path, default=Path(".sportello/embedded"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)

    data_dir: Path = args.data_dir.resolve()
    exit_normally_on_sigterm()
    postgres = start_postgres(data_dir / "postgres")  # stops when this process exits
    database_url = postgres.create_database("sportello")
    api_tokens = tokens.load_or_create(data_dir / "api-tokens.json")
    jwt_secret = tokens.load_or_create_jwt_secret(data_dir / "jwt-secret")
    # Component settings (e.g. the seed team) are read from the environment like every setting.
    os.environ.setdefault("SPORTELLO_ASSIGNMENT_SEED_AGENTS", demo.DEMO_AGENTS)
    settings = ServiceSettings(
        database_url=SecretStr(database_url),
        bus="memory",
        api_tokens=SecretStr(tokens.spec(api_tokens)),
        # Agents sign in with JWTs from the company's identity provider; here we are that provider.
        jwt_secret=SecretStr(jwt_secret),
        jwt_issuer=tokens.DEV_ISSUER,
        http_host=args.host,
        http_port=args.port,
        role="all",
        log_json=os.environ.get("SPORTELLO_LOG_JSON", "false").lower() == "true",
    )
    app = create_app(components(), settings, title="Sportello (embedded)")
    # Printed, not logged: tokens must never reach the log stream.
    print(
        f"\nSportello embedded: http://{args.host}:{args.port}  (OpenAPI: /docs)\n"
        f"data: {data_dir}\n"
        f"API tokens (also in {data_dir / 'api-tokens.json'}):\n"
        + "\n".join(f"  {role:<12} {token}" for role, token in api_tokens.items())
        + "\nAgent sign-in (JWT bearer tokens, valid 12 h; the secret is in "
        f"{data_dir / 'jwt-secret'}):\n"
        f"  agent of team mobile  {tokens.dev_jwt(jwt_secret, subject='dev-agent', teams=['mobile'])}\n"
        f"  supervisor            {tokens.dev_jwt(jwt_secret, subject='dev-supervisor', role='supervisor')}\n",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False,
                timeout_graceful_shutdown=int(settings.shutdown_grace_seconds))


if __name__ == "__main__":
    main()
