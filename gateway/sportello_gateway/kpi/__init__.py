"""KPIs from pre-aggregated tables: per-conversation facts and hourly buckets, kept by their own
consumer group, so a report sums a few bucket rows instead of scanning messages."""
