"""The MongoDB client factory (PyMongo's native async API) and readiness check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import ConnectionFailure, PyMongoError

from lanes_common.errors import DependencyUnavailableError

MongoDocument = dict[str, Any]


def create_mongo_client(uri: str, timeout_ms: int = 5_000) -> AsyncMongoClient[MongoDocument]:
    """An async client; it connects lazily, so creating it never blocks."""
    return AsyncMongoClient(
        uri,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        appname="lanes",
    )


async def mongo_is_ready(client: AsyncMongoClient[MongoDocument]) -> bool:
    """True when the server answers ``ping``."""
    try:
        await client.admin.command("ping")
    except PyMongoError:
        return False
    return True


STARTUP_RETRY_SECONDS = 0.5


async def retry_until_mongo_answers(
    step: Callable[[], Awaitable[None]], wait_seconds: float
) -> None:
    """Run ``step`` (creating indexes, say), retrying while MongoDB does not answer.

    Services start in any order; this lets one wait for the store at startup,
    up to ``wait_seconds``, then fail with `DependencyUnavailableError`.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            await step()
            return
        except ConnectionFailure as exc:
            if time.monotonic() >= deadline:
                # The URI may carry credentials, so the message names the setting instead.
                raise DependencyUnavailableError(
                    f"MongoDB (LANES_MONGO_URI) did not answer within {wait_seconds:.0f}s: {exc}"
                ) from exc
            await asyncio.sleep(STARTUP_RETRY_SECONDS)
