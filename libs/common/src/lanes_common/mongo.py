"""The MongoDB client factory (PyMongo's native async API) and readiness check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from pymongo import AsyncMongoClient, InsertOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, ConnectionFailure, PyMongoError

from lanes_common.errors import DependencyUnavailableError
from lanes_common.types import MongoDocument

DUPLICATE_KEY = 11000
"""MongoDB's error code for a write that would duplicate a unique key (E11000)."""


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


async def write_unordered(
    collection: AsyncCollection[MongoDocument],
    operations: Sequence[InsertOne[MongoDocument] | UpdateOne],
) -> set[int]:
    """Send ``operations`` as one unordered bulk; the indexes of those refused with E11000.

    A duplicate key is an answer, not a failure: an insert whose ``_id``
    exists, or a conditional upsert whose filter did not match an existing
    document. Any other write error raises `BulkWriteError`.
    """
    if not operations:
        return set()
    try:
        await collection.bulk_write(list(operations), ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors") or []
        if exc.details.get("writeConcernErrors") or any(
            error.get("code") != DUPLICATE_KEY for error in errors
        ):
            raise
        return {int(error["index"]) for error in errors}
    return set()
