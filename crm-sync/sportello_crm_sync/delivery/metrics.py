"""crm-sync's delivery metrics (CRM calls and webhooks), labelled by sink."""

from prometheus_client import Counter, Gauge, Histogram

ATTEMPTS = Counter("sportello_delivery_attempts_total", "Delivery attempts by outcome",
                   ["sink", "outcome"])
SECONDS = Histogram("sportello_delivery_seconds", "Time one delivery attempt took", ["sink"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
BREAKER_OPEN = Gauge("sportello_crm_breaker_open", "1 while the CRM circuit breaker is open",
                     ["crm"])
SETTLED = Counter("sportello_delivery_settled_total",
                  "Deliveries that left the queue, by how: done, failed (given up), stopped (410)",
                  ["sink", "state"])
