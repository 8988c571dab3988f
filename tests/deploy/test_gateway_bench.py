"""The gateway benchmark: what it measures and reports, run for real at a tiny size (a generated
data set on a private embedded PostgreSQL, the gateway in its own process and in-process). No
timing is asserted: only that every figure is there and comes from successful requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sportello_deploy import bench, gateway_bench
from sportello_deploy.bench_report import gateway_keys
from sportello_deploy.gateway_bench import (
    BenchConfig,
    list_parameters,
    report_endpoint,
    sla_sort,
    summarise,
    variants,
)

LAST_LINE_KEYS = {"inbox_p50_ms", "inbox_p99_ms", "report_30d_ms", "report_30d_p99_ms",
                  "conversations", "messages"}


def openapi_with(parameters: list[dict[str, Any]], *, report: bool) -> dict[str, Any]:
    paths: dict[str, Any] = {"/v1/conversations": {"get": {"parameters": parameters}}}
    if report:
        paths["/v1/kpis/report"] = {"get": {"parameters": [
            {"name": "from", "in": "query"}, {"name": "to", "in": "query"}]}}
    return {"paths": paths}


def test_variants_follow_what_the_list_offers() -> None:
    parameters = list_parameters(openapi_with([
        {"name": "status", "in": "query", "schema": {"enum": ["open", "resolved"]}},
        {"name": "team", "in": "query", "schema": {"type": "string"}},
        {"name": "assignee", "in": "query", "schema": {}},
        {"name": "sort", "in": "query",
         "schema": {"anyOf": [{"enum": ["priority", "sla_deadline"]}, {"type": "null"}]}},
        {"name": "q", "in": "query", "schema": {}},
        {"name": "Authorization", "in": "header", "schema": {}},
    ], report=True))
    plan = variants(parameters, {"agent": "a1", "team": "billing", "word": "refund", "name": "Ada Rossi"})
    by_name = {v.name: v.params for v in plan}
    assert plan[0].name == "inbox_default"
    assert by_name["inbox_default"] == {"status": "open", "limit": "50"}
    assert by_name["inbox_by_team"]["team"] == "billing"
    assert by_name["inbox_by_assignee"]["assignee"] == "a1"
    assert by_name["inbox_by_sla_deadline"]["sort"] == "sla_deadline"
    assert by_name["inbox_search_word"]["q"] == "refund"
    assert by_name["inbox_search_name"]["q"] == "Ada Rossi"
    assert "inbox_page_2" in by_name and "Authorization" not in parameters


def test_variants_of_an_older_list_are_the_default_and_the_second_page() -> None:
    parameters = list_parameters(openapi_with([
        {"name": "status", "in": "query", "schema": {}}, {"name": "limit", "in": "query"}],
        report=False))
    plan = variants(parameters, {"agent": "a1", "team": "billing", "word": "refund", "name": "Ada Rossi"})
    assert [v.name for v in plan] == ["inbox_default", "inbox_page_2"]
    assert sla_sort(parameters) is None


def test_the_report_is_part_cs_when_the_gateway_has_it_else_the_summary() -> None:
    end = datetime(2026, 3, 31, tzinfo=UTC)
    kpi = report_endpoint(openapi_with([], report=True), end)
    assert kpi.path == "/v1/kpis/report" and kpi.role == "supervisor"
    assert kpi.params == {"from": "2026-03-01T00:00:00+00:00", "to": "2026-03-31T00:00:00+00:00"}
    older = report_endpoint(openapi_with([], report=False), end)
    assert older.path == "/v1/metrics/summary" and older.params == {"since": "2026-03-01T00:00:00+00:00"}


def figures(p50: float, p99: float) -> dict[str, Any]:
    return {"p50_ms": p50, "p95_ms": p99, "p99_ms": p99, "cpu_ms_per_request": {"gateway": 3.0},
            "machine_busy_cores": 1.5}


def test_summary_headlines_the_socket_figures_and_judges_the_targets() -> None:
    measured = {"socket": {"inbox_default": figures(8, 19), "inbox_by_team": figures(9, 25),
                           "kpi_report_30d": figures(150, 230)},
                "asgi": {"inbox_default": figures(5, 12), "kpi_report_30d": figures(140, 200)},
                "report_endpoint": "/v1/kpis/report"}
    out = summarise(measured, {"conversations": 10, "messages": 100, "seconds": {"total": 3.5}})
    assert (out["inbox_p50_ms"], out["inbox_p99_ms"], out["report_30d_ms"], out["report_30d_p99_ms"]) \
        == (8, 19, 150, 230)
    assert out["inbox_p99_ok"] is True and out["report_30d_ok"] is True
    assert out["inbox_by_team_p99_ms"] == 25 and out["inbox_asgi_p99_ms"] == 12
    assert out["inbox_gateway_cpu_ms"] == 3.0 and out["load_seconds"] == 3.5
    slow = summarise({"socket": {"inbox_default": figures(8, 21),
                                 "metrics_summary_30d": figures(250, 300)}},
                     {"conversations": 10, "messages": 100})
    assert slow["inbox_p99_ok"] is False and slow["report_30d_ok"] is False
    assert slow["transport"] == "socket" and slow["report_30d_ms"] == 250


def test_make_bench_runs_the_gateway_stage_and_prefixes_its_keys() -> None:
    assert bench.parse_args([]).gateway_conversations == 1_000_000
    quick = bench.parse_args(["--quick"])
    assert quick.gateway_conversations == bench.QUICK_GATEWAY_CONVERSATIONS and not quick.skip_gateway
    assert bench.parse_args(["--quick", "--gateway-conversations", "500"]).gateway_conversations == 500
    assert bench.run_gateway_stage(bench.parse_args(["--skip-gateway"])) == {}
    assert gateway_keys({"inbox_p99_ms": 4.2, "conversations": 9}) == {
        "gateway_inbox_p99_ms": 4.2, "gateway_conversations": 9}


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """Two runs on one cached data set of 3,000 conversations (~80 open: two pages)."""
    root = tmp_path_factory.mktemp("gateway-bench")
    config = BenchConfig(conversations=3000, messages_per_conversation=2, requests=5,
                         variant_requests=2, warmup=1, report_runs=2, cache_dir=root / "cache",
                         results_dir=root / "results")
    # A set of the same size from another schema, left by an earlier run: replaced once the new
    # one is complete.
    (root / "cache" / "c3000-m2-s7-olderhead-0000000000").mkdir(parents=True)
    first = gateway_bench.run(config)
    second = gateway_bench.run(config)
    return root, first, second


def test_a_tiny_run_reports_every_key(tiny_runs: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    _, first, _ = tiny_runs
    assert first.keys() >= LAST_LINE_KEYS
    assert (first["conversations"], first["messages"]) == (3000, 6000)
    for key in ("inbox_p50_ms", "inbox_p99_ms", "report_30d_ms", "report_30d_p99_ms"):
        assert isinstance(first[key], float) and first[key] > 0
    assert first["transport"] == "socket" and first["data_cached"] is False
    assert first["report_endpoint"] in ("/v1/kpis/report", "/v1/metrics/summary")
    json.dumps(first)  # the last line is JSON


def test_the_result_file_holds_both_transports_and_the_plan(
        tiny_runs: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    _, first, _ = tiny_runs
    written = json.loads(Path(first["results_file"]).read_text())
    for transport in ("socket", "asgi"):
        inbox = written["measured"][transport]["inbox_default"]
        assert inbox["n"] == 5 and inbox["items"] == 50  # a full first page
        assert "inbox_page_2" in written["measured"][transport]
    assert "gateway" in written["measured"]["socket"]["inbox_default"]["cpu_ms_per_request"]
    explained = written["measured"]["explain_inbox_default"]
    assert "gateway.conversations" in explained["statement"] and explained["tree"]


def test_a_second_run_reuses_the_cached_data_set(
        tiny_runs: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    root, first, second = tiny_runs
    assert second["data_cached"] is True and second["conversations"] == 3000
    # The older set of the same size is gone, this one is the only set kept.
    assert [p.name for p in (root / "cache").iterdir()] == [gateway_bench.cache_key(
        BenchConfig(conversations=3000, messages_per_conversation=2))]
    assert first["results_file"] != second["results_file"]


def test_a_failing_gateway_stage_leaves_the_rest_of_make_bench_running(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(config: BenchConfig) -> dict[str, Any]:
        raise RuntimeError("gateway_data failed (1)")

    monkeypatch.setattr(gateway_bench, "run", broken)
    outcome = bench.run_gateway_stage(bench.parse_args(["--quick"]))
    assert outcome == {"error": "RuntimeError: gateway_data failed (1)"}
    assert gateway_keys(outcome) == {"gateway_error": "RuntimeError: gateway_data failed (1)"}
