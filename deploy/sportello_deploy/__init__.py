"""Deployment helpers for Sportello (local infrastructure for dev and tests)."""
