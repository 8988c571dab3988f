"""Ingest: accepts channel messages, deduplicates, archives the raw payload, threads them into the
customer's open conversation and emits ``message.received``."""
