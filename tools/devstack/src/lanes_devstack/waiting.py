"""Waiting on a real condition with a deadline: polling, never a blind sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

POLL_INTERVAL_SECONDS = 0.05


class ConditionTimeoutError(AssertionError):
    """A condition did not become true before its deadline."""


async def eventually(
    check: Callable[[], Awaitable[T]],
    timeout: float,  # noqa: ASYNC109  (a deadline for the polling, not one await)
    what: str,
    interval: float = POLL_INTERVAL_SECONDS,
) -> T:
    """Await ``check()`` until it returns something truthy, and return that.

    Raises `ConditionTimeoutError` naming ``what`` and the last value seen when
    ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise ConditionTimeoutError(f"{what}: not true within {timeout:.0f}s (last: {value!r})")
        await asyncio.sleep(interval)


def wait_until(ready: Callable[[], bool], timeout: float, what: str) -> None:
    """Call ``ready`` until it is true; `ConditionTimeoutError` naming ``what`` at the deadline.

    The blocking twin of `eventually`, for code that runs off any event loop.
    """
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise ConditionTimeoutError(f"{what}: not true within {timeout:.0f}s")
        time.sleep(POLL_INTERVAL_SECONDS * 4)
