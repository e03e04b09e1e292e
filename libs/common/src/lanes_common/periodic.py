"""Background jobs that run on a timer for as long as a service runs (purges, retention)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from pymongo.errors import PyMongoError

logger = logging.getLogger(__name__)


@asynccontextmanager
async def running_periodically(
    name: str, interval_seconds: float, step: Callable[[], Awaitable[None]]
) -> AsyncIterator[None]:
    """Run ``step`` now and then every ``interval_seconds`` while the context is open.

    A step the store refuses is logged and tried again at the next tick: a
    store outage must not end the job, nor the service.
    """

    async def forever() -> None:
        while True:
            try:
                await step()
            except PyMongoError:
                logger.warning(
                    "periodic job failed; next try in %.0f s",
                    interval_seconds,
                    extra={"job": name},
                    exc_info=True,
                )
            await asyncio.sleep(interval_seconds)

    task = asyncio.create_task(forever(), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
