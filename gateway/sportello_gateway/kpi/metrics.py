"""The KPI aggregator's own Prometheus metrics (handler and HTTP timings come from sportello)."""

from prometheus_client import Counter, Gauge

CSAT_ANSWERS = Counter(
    "sportello_gateway_kpi_csat_answers_total", "CSAT answers recorded, by score", ["score"]
)
REBUILD_SECONDS = Gauge(
    "sportello_gateway_kpi_rebuild_seconds", "How long the last KPI rebuild took"
)
