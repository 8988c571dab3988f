"""Structured logs, Prometheus metrics, health endpoints."""
