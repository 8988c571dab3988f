"""Failure classes that decide what the bus does with a record whose handler raised."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import exc as sa_exc


class TransientError(Exception):
    """An outside dependency is unavailable (CRM 5xx/429, a timeout): retry, never dead-letter."""


class PermanentError(Exception):
    """The record can never succeed (e.g. it references data that is invalid by contract)."""


def is_transient(exc: BaseException) -> bool:
    """Infrastructure failures: retried with capped backoff for as long as they last.

    Dead-lettering on a database or network outage would empty a topic into its dead-letter topic in
    seconds; holding the partition keeps order and resumes by itself when the dependency is back.
    """
    if isinstance(exc, TransientError | OSError | asyncio.TimeoutError | httpx.TransportError):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return True
    # asyncpg raises these when the server goes away mid-statement or refuses connections.
    name = type(exc).__name__
    return name in {"ConnectionDoesNotExistError", "CannotConnectNowError", "TooManyConnectionsError"}
