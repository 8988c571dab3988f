"""Failure classes that decide what the bus does with a record whose handler raised."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import exc as sa_exc


class TransientError(Exception):
    """An outside dependency is unavailable (CRM 5xx/429, a timeout): retry, never dead-letter."""


class PermanentError(Exception):
    """The record can never succeed (e.g. it references data that is invalid by contract)."""


# SQLSTATE classes and codes that mean "the server cannot serve this now", not "this is wrong":
# 08 connection exception, 53 insufficient resources, 57P0x shutting down / starting up / crash
# recovery, 40001/40P01 serialisation failure and deadlock (a retry succeeds).
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53")
_TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "57P05", "40001", "40P01", "55P03"})
# asyncpg's own names, for errors raised before the server answered with a SQLSTATE.
_TRANSIENT_DRIVER_ERRORS = frozenset({
    "ConnectionDoesNotExistError", "CannotConnectNowError", "TooManyConnectionsError",
    "ConnectionFailureError",
})


def is_transient(exc: BaseException) -> bool:
    """Infrastructure failures: retried with capped backoff for as long as they last.

    Dead-lettering on a database or network outage would empty a topic into its dead-letter topic in
    seconds; holding the partition keeps order and resumes by itself when the dependency is back.
    SQLAlchemy wraps the driver's error (a generic ``DBAPIError`` for "the database system is starting
    up"), so the whole cause chain is examined, SQLSTATE first.
    """
    for error in _chain(exc):
        if isinstance(error, PermanentError):
            return False
        if isinstance(error, TransientError | OSError | asyncio.TimeoutError | httpx.TransportError):
            return True
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
            return True
        if isinstance(error, sa_exc.TimeoutError):  # the pool had no connection to give in time
            return True
        state = _own_sqlstate(error)
        if state is not None and (state in _TRANSIENT_SQLSTATES
                                  or state.startswith(_TRANSIENT_SQLSTATE_CLASSES)):
            return True
        if type(error).__name__ in _TRANSIENT_DRIVER_ERRORS:
            return True
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, what it wraps (``orig``) and what it was raised from, each once. The implicit
    ``__context__`` is left out: a bug raised while handling an outage must not look like one."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(seen) < 16:
        error = todo.pop(0)
        if error is None or any(error is s for s in seen):
            continue
        seen.append(error)
        orig = getattr(error, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None, error.__cause__]
    return seen


def sqlstate_of(exc: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE behind ``exc`` (SQLAlchemy's wrapper, the driver's error), if any."""
    for error in _chain(exc):
        state = _own_sqlstate(error)
        if state is not None:
            return state
    return None


def is_data_error(exc: BaseException) -> bool:
    """PostgreSQL refused a value itself (SQLSTATE class 22: out of range, bad encoding, NUL...):
    the request's data is at fault, not the server. Input validation should catch these first; this
    is the net under it, so a value we forgot to bound is a 422, never a 500."""
    state = sqlstate_of(exc)
    return state is not None and state.startswith("22")


def _own_sqlstate(error: BaseException) -> str | None:
    for attribute in ("sqlstate", "pgcode"):
        value = getattr(error, attribute, None)
        if isinstance(value, str) and len(value) == 5:
            return value
    return None
