"""Prometheus metrics. Labels are bounded: route templates, topics, groups — never ids."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

HTTP_REQUESTS = Counter(
    "sportello_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "sportello_http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"],
    buckets=_LATENCY_BUCKETS,
)
RECORDS_HANDLED = Counter(
    "sportello_bus_records_handled_total", "Records handled successfully", ["group", "topic"]
)
HANDLER_FAILURES = Counter(
    "sportello_bus_handler_failures_total", "Handler attempts that raised", ["group", "topic"]
)
HANDLER_SECONDS = Histogram(
    "sportello_bus_handler_duration_seconds", "Handler latency", ["group", "topic"],
    buckets=_LATENCY_BUCKETS,
)
EVENT_AGE_SECONDS = Histogram(
    "sportello_bus_event_age_seconds", "Event age when handled (end-to-end lag)", ["group", "topic"],
    buckets=_LATENCY_BUCKETS,
)
DEAD_LETTERED = Counter(
    "sportello_bus_dead_lettered_total", "Records sent to a dead-letter topic", ["group", "topic"]
)
EVENTS_DECLINED = Counter(
    "sportello_bus_events_declined_total",
    "Events a group acknowledged without a transaction (nothing to do for them)", ["group"]
)
DUPLICATES_SKIPPED = Counter(
    "sportello_inbox_duplicates_total", "Redelivered events skipped by the inbox", ["group"]
)
OUTBOX_PUBLISHED = Counter(
    "sportello_outbox_published_total", "Events relayed from the outbox to the bus", ["service"]
)
OUTBOX_BACKLOG = Gauge(
    "sportello_outbox_backlog", "Events waiting in the outbox at the last relay pass", ["service"]
)
