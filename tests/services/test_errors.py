"""Which failures hold a partition (retried until the dependency is back) and which are the record's
fault: raised by a real PostgreSQL through SQLAlchemy and asyncpg, as a handler would see them."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from sportello.errors import PermanentError, TransientError, is_data_error, is_transient, sqlstate_of


async def _raised_by_postgres(database_url: str, sql: str) -> Exception:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            with pytest.raises(Exception) as caught:
                await connection.execute(text(sql))
        return caught.value
    finally:
        await engine.dispose()


def _raise_code(code: str, message: str) -> str:
    return f"DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '{code}', MESSAGE = '{message}'; END $$"


@pytest.mark.parametrize(("code", "message"), [
    ("57P03", "the database system is starting up"),       # after a restart, WAL replay
    ("57P01", "terminating connection due to administrator command"),
    ("08006", "connection failure"),
    ("53300", "sorry, too many clients already"),
    ("40P01", "deadlock detected"),
])
async def test_a_server_that_cannot_serve_now_is_transient(database_url: str, code: str,
                                                           message: str) -> None:
    error = await _raised_by_postgres(database_url, _raise_code(code, message))

    assert is_transient(error), repr(error)


@pytest.mark.parametrize("sql", [
    _raise_code("22021", "invalid byte sequence"),
    _raise_code("23505", "duplicate key value violates unique constraint"),
    "SELECT no_such_column FROM pg_class",
])
async def test_an_error_in_the_data_or_the_code_is_not_transient(database_url: str, sql: str) -> None:
    error = await _raised_by_postgres(database_url, sql)

    assert not is_transient(error), repr(error)


def test_explicit_classes_and_chains() -> None:
    assert is_transient(TransientError("crm down"))
    assert is_transient(ConnectionRefusedError())
    try:
        try:
            raise ConnectionResetError()
        except ConnectionResetError as reset:
            raise RuntimeError("wrapped") from reset
    except RuntimeError as wrapped:
        assert is_transient(wrapped)
    # Raised while handling an outage, but not because of it: a bug, never retried forever.
    try:
        try:
            raise ConnectionResetError()
        except ConnectionResetError:
            raise ValueError("a bug in the handler")  # noqa: B904
    except ValueError as bug:
        assert not is_transient(bug)
    try:
        raise PermanentError("bad record") from TimeoutError()
    except PermanentError as permanent:
        assert not is_transient(permanent)


async def test_a_value_postgres_refuses_is_a_data_error(database_url: str) -> None:
    error = await _raised_by_postgres(database_url, "SELECT 2147483648::int4")

    assert is_data_error(error)
    assert sqlstate_of(error) == "22003"
    assert not is_transient(error)
