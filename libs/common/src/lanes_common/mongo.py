"""The MongoDB client factory (PyMongo's native async API) and readiness check."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

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
