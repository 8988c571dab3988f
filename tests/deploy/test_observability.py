"""The Grafana dashboard and the Prometheus alert rules in deploy/observability stay true to the code.

Every metric a PromQL expression names must be one the services export (found by importing every
module that imports ``prometheus_client`` and reading its metric objects) or one of the few external
metrics in ``EXTERNAL_METRICS``; every label it matches or groups by must exist on that metric; label
values with a known domain (consumer groups, topics, delivery sinks and outcomes) must be values the
code produces.

Run as a script to regenerate prometheusrule.yaml from alerts.yaml:
``.venv/bin/python tests/deploy/test_observability.py``.
"""

from __future__ import annotations

import ast
import importlib
import json
import math
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
OBSERVABILITY = REPO / "deploy" / "observability"
DASHBOARD = OBSERVABILITY / "grafana-dashboard.json"
ALERTS = OBSERVABILITY / "alerts.yaml"
PROMETHEUS_RULE = OBSERVABILITY / "prometheusrule.yaml"
OPERATIONS = REPO / "docs" / "OPERATIONS.md"
SERVICE_ROOTS = ("services", "ingest", "priority", "assignment", "crm-sync", "gateway")

# Metrics that Sportello does not export, with their labels. Keep this list short.
EXTERNAL_METRICS: dict[str, frozenset[str]] = {
    "up": frozenset(),  # Prometheus, per scrape target
    # danielqsj/kafka-exporter: records not yet committed, per group and partition.
    "kafka_consumergroup_lag": frozenset({"consumergroup", "topic", "partition"}),
}
# Target labels Prometheus (Kubernetes service discovery) adds to every series.
TARGET_LABELS = frozenset({"job", "instance", "namespace", "pod"})
GRAFANA_VARIABLES_BUILTIN = frozenset({"__rate_interval", "__interval", "__range"})
SEVERITIES = frozenset({"warning", "critical"})
RUNBOOK = re.compile(r"^docs/OPERATIONS\.md#([a-z0-9][a-z0-9_-]*)$")
DURATION = re.compile(r"^(?:[0-9]+(?:ms|[smhdwy]))+$")


# --- YAML --------------------------------------------------------------------------------------

class _StrictLoader(yaml.SafeLoader):
    """safe_load that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: Any, deep: bool = False) -> Any:
    keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
    duplicates = sorted({str(key) for key in keys if keys.count(key) > 1})
    if duplicates:
        raise yaml.constructor.ConstructorError(None, None, f"duplicate keys {duplicates}", node.start_mark)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 (a SafeLoader)


# --- What the code exports ---------------------------------------------------------------------

@dataclass(frozen=True)
class Series:
    family: str
    labels: frozenset[str]
    buckets: tuple[float, ...] = ()  # finite upper bounds, for *_bucket series


def _metric_modules() -> Iterator[str]:
    """Every service module that imports prometheus_client."""
    for root in SERVICE_ROOTS:
        base = REPO / root
        for path in sorted(base.rglob("*.py")):
            parts = path.relative_to(base).parts
            if any(part in ("migrations", "tests", "build") or part.endswith(".egg-info") for part in parts):
                continue
            if re.search(r"^\s*(?:from|import)\s+prometheus_client\b", path.read_text(encoding="utf-8"), re.M):
                names = [*parts[:-1], path.stem] if path.stem != "__init__" else list(parts[:-1])
                yield ".".join(names)


@cache
def exported_series() -> dict[str, Series]:
    """Sample names our /metrics can show, with their labels."""
    from prometheus_client.metrics import MetricWrapperBase

    series: dict[str, Series] = {}
    for module_name in _metric_modules():
        module = importlib.import_module(module_name)
        for collector in vars(module).values():
            if not isinstance(collector, MetricWrapperBase):
                continue
            family = next(iter(collector.describe()))
            labels = frozenset(getattr(collector, "_labelnames", ()))
            suffixes = {"counter": ("_total", "_created"), "gauge": ("",),
                        "histogram": ("_bucket", "_sum", "_count", "_created"),
                        "summary": ("_sum", "_count", "_created")}.get(family.type)
            assert suffixes is not None, f"{module_name}: metric type {family.type} not handled here"
            for suffix in suffixes:
                buckets: tuple[float, ...] = ()
                if suffix == "_bucket":
                    buckets = tuple(b for b in getattr(collector, "_upper_bounds", ()) if not math.isinf(b))
                series[family.name + suffix] = Series(family.name, labels | {"le"} if buckets else labels, buckets)
    return series


def labels_of(metric: str) -> frozenset[str]:
    if metric in EXTERNAL_METRICS:
        return EXTERNAL_METRICS[metric] | TARGET_LABELS
    return exported_series()[metric].labels | TARGET_LABELS


@cache
def known_values() -> dict[str, frozenset[str]]:
    """Label values with a domain the code defines."""
    from sportello.topics import Groups, all_topic_names

    groups = frozenset(v for k, v in vars(Groups).items() if not k.startswith("_") and isinstance(v, str))
    sinks, outcomes = delivery_outcomes()
    return {"group": groups, "consumergroup": groups, "topic": frozenset(all_topic_names()),
            "sink": frozenset(sinks), "outcome": frozenset().union(*outcomes.values())}


@cache
def delivery_outcomes() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """crm-sync's sinks (classes with a ``name`` and a ``deliver``) and, per sink, the outcome labels
    its ``Outcome(...)`` calls use; outcomes made outside a sink (the dispatcher's) apply to all."""
    per_sink: dict[str, set[str]] = {}
    shared: set[str] = set()

    def labels_in(node: ast.AST) -> set[str]:
        found = set()
        for call in ast.walk(node):
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Outcome":
                args = [*call.args[1:2], *(k.value for k in call.keywords if k.arg == "label")]
                found |= {a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
        return found

    for path in sorted((REPO / "crm-sync" / "sportello_crm_sync").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_sinks: set[str] = set()
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            names = [s.value.value for s in node.body if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant)
                     and any(getattr(t, "id", None) == "name" for t in s.targets) and isinstance(s.value.value, str)]
            delivers = any(isinstance(s, ast.AsyncFunctionDef | ast.FunctionDef) and s.name == "deliver"
                           for s in node.body)
            if names and delivers:
                found = labels_in(node)
                per_sink.setdefault(names[0], set()).update(found)
                in_sinks |= found
        shared |= labels_in(tree) - in_sinks
    assert per_sink, "no delivery sinks found in crm-sync"
    return frozenset(per_sink), {sink: frozenset(found | shared) for sink, found in per_sink.items()}


# --- PromQL, as far as these checks need it ---------------------------------------------------

FUNCTIONS = frozenset({
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time",
    "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month",
    "day_of_week", "day_of_year", "days_in_month", "deg", "delta", "deriv", "double_exponential_smoothing", "exp",
    "floor", "histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_stddev",
    "histogram_stdvar", "histogram_sum", "holt_winters", "hour", "idelta", "increase", "irate", "label_join",
    "label_replace", "last_over_time", "ln", "log10", "log2", "mad_over_time", "max_over_time", "min_over_time",
    "minute", "month", "pi", "predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets",
    "round", "scalar", "sgn", "sin", "sinh", "sort", "sort_by_label", "sort_by_label_desc", "sort_desc", "sqrt",
    "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year"
})
AGGREGATIONS = frozenset({
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
    "quantile", "limitk", "limit_ratio"
})
LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS = frozenset({"and", "or", "unless", "bool", "atan2", "inf", "nan", "start", "end"})

_TOKEN = re.compile(r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<num>[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?(?:(?:ms|[smhdwy])(?:[0-9]+(?:ms|[smhdwy]))*)?|\.[0-9]+)
  | (?P<var>\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=])
  | (?P<punct>[(){}\[\],:@])
""", re.X)


@dataclass
class Selector:
    metric: str
    position: int
    matchers: list[tuple[str, str, str]] = field(default_factory=list)  # (label, op, value)


@dataclass
class Clause:
    keyword: str
    labels: list[str]
    span: tuple[int, int] | None  # token range of the aggregated expression; None: all of it


@dataclass
class Scan:
    selectors: list[Selector]
    clauses: list[Clause]
    variables: set[str]


def tokenize(expr: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        if match is None:
            raise ValueError(f"cannot read PromQL at {expr[position:position + 20]!r} in {expr!r}")
        assert match.lastgroup is not None
        if match.lastgroup != "space":
            tokens.append((match.lastgroup, match.group()))
        position = match.end()
    return tokens


def _string(token: str) -> str:
    return str(json.loads(token)) if token.startswith('"') else token[1:-1]


def scan(expr: str) -> Scan:
    """The metric selectors, their matchers and the label lists of one PromQL expression."""
    tokens = tokenize(expr)
    partner: dict[int, int] = {}
    stack: list[int] = []
    for index, (_, text) in enumerate(tokens):
        if text == "(":
            stack.append(index)
        elif text == ")":
            assert stack, f"unbalanced ')' in {expr!r}"
            partner[stack.pop()] = index
    assert not stack, f"unbalanced '(' in {expr!r}"
    partner.update({close: open_ for open_, close in list(partner.items())})

    def text_at(index: int) -> str:
        return tokens[index][1] if 0 <= index < len(tokens) else ""

    result = Scan([], [], set())
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "var":
            result.variables.add(text.strip("${}"))
        if text == "[":  # a range or subquery: durations only
            end = next(j for j in range(i, len(tokens)) if tokens[j][1] == "]")
            result.variables |= {t.strip("${}") for k, t in tokens[i + 1:end] if k == "var"}
            assert all(k in ("num", "var") or t == ":" for k, t in tokens[i + 1:end]), f"bad range in {expr!r}"
            i = end + 1
            continue
        if kind == "var":
            raise AssertionError(f"Grafana variable {text} outside a string or range in {expr!r}")
        if text == "{":
            raise AssertionError(f"a selector without a metric name in {expr!r}")
        if kind != "ident":
            i += 1
            continue
        if text in LABEL_LISTS:
            if text_at(i + 1) != "(":
                assert text in ("group_left", "group_right"), f"{text} without a label list in {expr!r}"
                i += 1
                continue
            close = partner[i + 1]
            labels = [t for k, t in tokens[i + 2:close] if k == "ident"]
            assert all(k == "ident" or t == "," for k, t in tokens[i + 2:close]), f"bad {text} (...) in {expr!r}"
            span: tuple[int, int] | None = None
            if text in ("by", "without"):
                if text_at(i - 1) in AGGREGATIONS and text_at(close + 1) == "(":
                    span = (close + 1, partner[close + 1])
                elif text_at(i - 1) == ")" and text_at(partner[i - 1] - 1) in AGGREGATIONS:
                    span = (partner[i - 1], i - 1)
                else:
                    raise AssertionError(f"{text} (...) not attached to an aggregation in {expr!r}")
            result.clauses.append(Clause(text, labels, span))
            i = close + 1
            continue
        if text == "offset":
            i += 3 if text_at(i + 1) == "-" else 2
            continue
        if text in AGGREGATIONS or text in KEYWORDS:
            i += 1
            continue
        if text in FUNCTIONS:
            assert text_at(i + 1) == "(", f"function {text} without arguments in {expr!r}"
            i += 1
            continue
        assert text_at(i + 1) != "(", f"unknown PromQL function {text!r} in {expr!r}"
        selector = Selector(text, i)
        i += 1
        if text_at(i) == "{":
            i += 1
            while text_at(i) != "}":
                assert tokens[i][0] == "ident" and text_at(i + 1) in ("=", "!=", "=~", "!~") \
                    and tokens[i + 2][0] == "str", f"bad label matcher in {expr!r}"
                value = _string(text_at(i + 2))
                result.variables |= {m.strip("${}") for m in re.findall(r"\$\{[^}]*\}|\$\w+", value)}
                selector.matchers.append((text_at(i), text_at(i + 1), value))
                i += 3
                if text_at(i) == ",":
                    i += 1
            i += 1
        result.selectors.append(selector)
    return result


def problems_in(expr: str) -> list[str]:
    """Everything in ``expr`` that does not match the code: unknown metrics, labels, label values."""
    found = scan(expr)
    problems: list[str] = []
    known = {**exported_series(), **dict.fromkeys(EXTERNAL_METRICS)}
    for selector in found.selectors:
        if selector.metric not in known:
            problems.append(f"unknown metric {selector.metric}")
            continue
        labels = labels_of(selector.metric)
        equal = {label: value for label, op, value in selector.matchers if op == "="}
        for label, op, value in selector.matchers:
            if label not in labels:
                problems.append(f"{selector.metric} has no label {label!r}")
            elif "$" not in value and op in ("=", "=~") and label in known_values():
                domain = known_values()[label]
                if label == "outcome" and "sink" in equal:
                    domain = delivery_outcomes()[1].get(equal["sink"], frozenset())
                alternatives = [value] if op == "=" or "(" in value else value.split("|")
                for alternative in alternatives:
                    if not any(re.fullmatch(alternative if op == "=~" else re.escape(alternative), v)
                               for v in domain):
                        problems.append(f"{selector.metric}{{{label}{op}{value!r}}}: the code never produces "
                                        f"{alternative!r} (known: {sorted(domain)})")
    for clause in found.clauses:
        inside = [s for s in found.selectors if clause.span is None
                  or clause.span[0] < s.position < clause.span[1]]
        for selector in inside:
            if selector.metric not in known:
                continue
            for label in clause.labels:
                if label not in labels_of(selector.metric):
                    problems.append(f"{clause.keyword} ({label}): {selector.metric} has no label {label!r}")
    return problems


def output_labels(expr: str) -> set[str]:
    """Labels an alert's series may carry (for {{ $labels.x }}), approximately."""
    found = scan(expr)
    grouped = [c for c in found.clauses if c.keyword in ("by", "on")]
    if grouped:
        return {label for clause in grouped for label in clause.labels}
    return {label for s in found.selectors for label in labels_of(s.metric)}


# --- The files ---------------------------------------------------------------------------------

def dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def all_panels(data: dict[str, Any]) -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = []
    for panel in data["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # a collapsed row keeps its panels inside
    return panels


def dashboard_exprs(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every label_values() variable query."""
    exprs = [(f"panel {p['title']!r}", t["expr"]) for p in all_panels(data) for t in p.get("targets", [])]
    for variable in data["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query.strip())
            assert match, f"variable {variable['name']}: only label_values(selector, label) is checked: {query}"
            exprs.append((f"variable {variable['name']}", match.group(1)))
            metric = scan(match.group(1)).selectors[0].metric
            exprs.append((f"variable {variable['name']}", f"sum by ({match.group(2)}) ({metric})"))
    return exprs


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def render_prometheus_rule() -> str:
    """prometheusrule.yaml as it must be: its own header (up to ``spec:``) and alerts.yaml's groups."""
    header = "".join(_DEFAULT_HEADER)
    if PROMETHEUS_RULE.exists():
        existing = PROMETHEUS_RULE.read_text(encoding="utf-8")
        if "\nspec:\n" in existing:
            header = existing.split("\nspec:\n")[0] + "\nspec:\n"
    body = ALERTS.read_text(encoding="utf-8").split("\ngroups:\n", 1)
    assert len(body) == 2, "alerts.yaml must have a top-level 'groups:' line"
    lines = ("groups:\n" + body[1]).splitlines()
    return header + "".join(f"  {line}\n" if line.strip() else "\n" for line in lines)


_DEFAULT_HEADER = (
    "# Generated from alerts.yaml by tests/deploy/test_observability.py: edit alerts.yaml, then run\n",
    "#   .venv/bin/python tests/deploy/test_observability.py\n",
    "apiVersion: monitoring.coreos.com/v1\n",
    "kind: PrometheusRule\n",
    "metadata:\n",
    "  name: sportello\n",
    "  labels:\n",
    "    app.kubernetes.io/part-of: sportello\n",
    "    # The Prometheus Operator loads only rules its ruleSelector matches: with kube-prometheus-stack,\n",
    "    # add the label it selects on (by default release: <its Helm release name>).\n",
    "spec:\n",
)


# --- Tests -------------------------------------------------------------------------------------

def test_the_metric_catalogue_is_read_from_the_code() -> None:
    series = exported_series()
    for name in ("sportello_http_requests_total", "sportello_bus_dead_lettered_total",
                 "sportello_delivery_attempts_total", "sportello_outbox_backlog"):
        assert name in series
    assert series["sportello_delivery_attempts_total"].labels == {"sink", "outcome"}
    assert series["sportello_http_request_duration_seconds_bucket"].buckets
    sinks, outcomes = delivery_outcomes()
    assert {"crm", "webhook"} <= sinks
    assert {"delivered", "timeout", "error"} <= outcomes["webhook"] and {"synced", "refused"} <= outcomes["crm"]


def test_the_checker_catches_what_it_should() -> None:
    assert problems_in('sum by (group) (rate(sportello_bus_dead_lettered_total{topic="x"}[5m]))')
    assert problems_in("rate(sportello_bus_dead_lettered[5m])")  # no _total
    assert problems_in("sum by (sink) (rate(sportello_bus_records_handled_total[5m]))")
    assert problems_in('sportello_delivery_attempts_total{sink="crm", outcome="delivered"}')
    assert problems_in("sum by (le) (sportello_outbox_backlog)")
    with pytest.raises(AssertionError):
        problems_in("histogram_quantil(0.9, sportello_http_request_duration_seconds_bucket)")
    assert not problems_in('sum by (namespace, group, le) (rate(sportello_bus_event_age_seconds_bucket'
                           '{group=~"sportello[.].*"}[$__rate_interval]))')


def test_the_dashboard_is_a_grafana_dashboard() -> None:
    data = dashboard()
    assert data["uid"] == "sportello-overview"
    assert data["title"].strip()
    assert data["schemaVersion"] >= 36
    variables = {v["name"]: v for v in data["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    assert {"namespace", "service", "group"} <= variables.keys()
    panels = all_panels(data)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        taken = {(grid["x"] + dx, grid["y"] + dy) for dx in range(grid["w"]) for dy in range(grid["h"])}
        assert not taken & cells, f"panel {panel['title']!r} overlaps another"
        cells |= taken
        if panel["type"] == "row":
            continue
        assert panel["type"] in ("timeseries", "stat"), panel["title"]
        assert panel["title"].strip() and panel["description"].strip(), panel["id"]
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"], f"panel {panel['title']!r} has no target"
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]


def test_dashboard_queries_use_only_exported_metrics_and_their_labels() -> None:
    data = dashboard()
    defined = {v["name"] for v in data["templating"]["list"]} | GRAFANA_VARIABLES_BUILTIN
    problems = []
    for where, expr in dashboard_exprs(data):
        problems += [f"{where}: {problem}" for problem in problems_in(expr)]
        problems += [f"{where}: undefined variable ${name}" for name in scan(expr).variables - defined]
    assert not problems, "\n".join(problems)


def test_the_dashboard_shows_every_metric_the_code_exports() -> None:
    used = {s.metric for _, expr in dashboard_exprs(dashboard()) for s in scan(expr).selectors}
    families = {series.family for name, series in exported_series().items() if name in used}
    missing = {series.family for series in exported_series().values()} - families
    assert not missing, f"exported but on no panel: {sorted(missing)}"
    assert "kafka_consumergroup_lag" in used


def test_alert_rules_are_well_formed() -> None:
    data = load_yaml(ALERTS)
    assert set(data) == {"groups"}
    names = [group["name"] for group in data["groups"]]
    assert len(names) == len(set(names)), "group names must be unique"
    alerts: list[str] = []
    for group in data["groups"]:
        assert set(group) == {"name", "rules"} and group["rules"], group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}, rule
            assert re.fullmatch(r"Sportello[A-Z][A-Za-z0-9]+", rule["alert"]), rule["alert"]
            alerts.append(rule["alert"])
            assert rule["expr"].strip(), rule["alert"]
            assert DURATION.match(rule["for"]), rule["alert"]
            assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
            annotations = rule["annotations"]
            assert annotations["summary"].strip() and annotations["description"].strip(), rule["alert"]
            assert RUNBOOK.match(annotations["runbook_url"]), rule["alert"]
    assert len(alerts) == len(set(alerts)), "alert names must be unique"


def test_alert_rules_use_only_exported_metrics_and_their_labels() -> None:
    problems = []
    for rule in alert_rules():
        problems += [f"{rule['alert']}: {problem}" for problem in problems_in(rule["expr"])]
        if scan(rule["expr"]).variables:
            problems.append(f"{rule['alert']}: Grafana variables in an alert rule")
        available = output_labels(rule["expr"])
        for text in rule["annotations"].values():
            for label in re.findall(r"\$labels\.(\w+)", text):
                if label not in available:
                    problems.append(f"{rule['alert']}: $labels.{label} is not a label of the alert's series")
    assert not problems, "\n".join(problems)


def test_histogram_thresholds_are_below_the_top_bucket() -> None:
    # histogram_quantile() never returns more than the highest finite bucket: a threshold at or
    # above it can never fire.
    for rule in alert_rules():
        expr = " ".join(rule["expr"].split())
        match = re.search(r"histogram_quantile\(.*\)\s*>\s*([0-9.]+)\s*$", expr)
        if match is None:
            continue
        buckets = [s for s in scan(expr).selectors if s.metric.endswith("_bucket")]
        assert buckets, rule["alert"]
        for selector in buckets:
            top = max(exported_series()[selector.metric].buckets)
            assert float(match.group(1)) < top, f"{rule['alert']}: threshold {match.group(1)} >= top bucket {top}"


def test_the_alerts_cover_what_ops_asked_for() -> None:
    used = {s.metric for rule in alert_rules() for s in scan(rule["expr"]).selectors}
    assert {"kafka_consumergroup_lag", "sportello_bus_dead_lettered_total", "sportello_bus_handler_failures_total",
            "sportello_http_requests_total", "sportello_http_request_duration_seconds_bucket",
            "sportello_outbox_backlog", "sportello_crm_breaker_open", "sportello_delivery_attempts_total",
            "sportello_bus_event_age_seconds_bucket", "up"} <= used


def test_the_prometheus_rule_carries_the_same_groups() -> None:
    rule = load_yaml(PROMETHEUS_RULE)
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["kind"] == "PrometheusRule"
    assert rule["metadata"]["name"]
    assert rule["spec"]["groups"] == load_yaml(ALERTS)["groups"]
    assert PROMETHEUS_RULE.read_text(encoding="utf-8") == render_prometheus_rule(), (
        "prometheusrule.yaml is stale: run .venv/bin/python tests/deploy/test_observability.py")


def test_promtool_accepts_the_rules() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not on PATH")
    result = subprocess.run([promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("groups: []\ngroups: []\n", encoding="utf-8")
    with pytest.raises(yaml.constructor.ConstructorError):
        load_yaml(path)


def test_runbook_anchors_exist() -> None:
    anchors = sorted({RUNBOOK.match(r["annotations"]["runbook_url"]).group(1)  # type: ignore[union-attr]
                      for r in alert_rules()})
    text = OPERATIONS.read_text(encoding="utf-8")
    defined: set[str] = set(re.findall(r"""<a\s+(?:id|name)=["']([^"']+)["']""", text))
    seen: dict[str, int] = {}
    in_code = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading is None or in_code:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
        defined.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    missing = [anchor for anchor in anchors if anchor not in defined]
    assert not missing, f"docs/OPERATIONS.md has no section for {missing}"


if __name__ == "__main__":
    PROMETHEUS_RULE.write_text(render_prometheus_rule(), encoding="utf-8")
    sys.stdout.write(f"wrote {PROMETHEUS_RULE.relative_to(REPO)}\n")
