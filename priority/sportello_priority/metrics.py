"""Priority's own metrics: SLA stages reached, which the SLA panels and alerts are built on, and
supervisors' overrides (how often people overrule the model)."""

from prometheus_client import Counter

SLA_STAGE_REACHED = Counter(
    "sportello_sla_stage_reached_total",
    "Conversations whose SLA clock reached a stage (halfway, at_risk, critical, breached)",
    ["stage", "kind"],
)

OVERRIDES = Counter(
    "sportello_priority_overrides_total",
    "Priority overrides by what happened to them (set, cleared, expired)",
    ["action"],
)
