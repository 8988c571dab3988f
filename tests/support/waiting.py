"""Waiting for asynchronous effects (a consumer, a relay) without timed assertions."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(
    check: Callable[[], Any | Awaitable[Any]], timeout: float = 5.0, *, interval: float = 0.02
) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy, and return that.

    Fails the test after ``timeout`` seconds: the bound is generous, it only stops a hung test.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
