"""Prometheus metrics of the gateway's edge. Labels are bounded: upstream names, methods, kinds."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

UPSTREAM_REQUESTS = Counter(
    "sportello_gateway_upstream_requests_total",
    "Requests forwarded to an upstream service, by the status it answered",
    ["upstream", "method", "status"],
)
UPSTREAM_SECONDS = Histogram(
    "sportello_gateway_upstream_request_duration_seconds",
    "Time until the upstream's response headers arrived", ["upstream", "method"],
    buckets=_LATENCY_BUCKETS,
)
UPSTREAM_ERRORS = Counter(
    "sportello_gateway_upstream_errors_total",
    "Upstream failures: unavailable, timeout, broken (mid-response), openapi (document fetch)",
    ["upstream", "kind"],
)
STREAM_CLIENTS = Gauge("sportello_gateway_stream_clients", "Connected live-stream clients")
STREAM_EVENTS = Counter(
    "sportello_gateway_stream_events_total", "Events the live stream received from the bus", ["type"]
)
STREAM_OVERFLOWS = Counter(
    "sportello_gateway_stream_overflows_total",
    "Live-stream clients disconnected because they fell too far behind",
)
STREAM_RESYNCS = Counter(
    "sportello_gateway_stream_resyncs_total",
    "Reconnects whose Last-Event-ID could not be replayed (the client was told to reload)",
)
