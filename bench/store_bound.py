"""The store's own speed: what FerretDB (SQLite) serves for the operations Lanes sends it.

Measured on the benchmark's FerretDB with one client, the shapes the services
use: a lookup by ``_id`` (the processor's transition check, the gateway's
deleted-account check), an upsert by ``_id`` in ordered chunks of 32 (the
processor's status writes, the raw floor's), a single insert (the gateway's
``queued`` document), and ``count_documents`` of one user's queued requests
(the gateway's quota) at two collection sizes, which FerretDB answers with a
full scan.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import UpdateOne

from bench.harness import Settings, median
from bench.rss import PeakRss
from lanes_common.mongo import create_mongo_client
from lanes_devstack.infra import LocalInfra

CHUNK = 32


async def _rate(count: int, concurrency: int, op: Callable[[int], Awaitable[Any]]) -> float:
    """Operations per second of ``op(0..count-1)``, ``concurrency`` at a time."""
    queue = iter(range(count))

    async def worker() -> None:
        for n in queue:
            await op(n)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return round(count / (time.perf_counter() - started), 1)


def _document(n: int, user: int) -> dict[str, Any]:
    return {
        "_id": f"{n:08d}-{uuid.uuid4()}",
        "user_id": f"user-{user:04d}",
        "type": "echo",
        "payload_json": '{"n":1}',
        "state": "queued",
        "state_rank": 0,
        "attempts": 0,
        "offset": n,
    }


async def run_store_bound(infra: LocalInfra, settings: Settings, rss: PeakRss) -> dict[str, Any]:
    """Operations per second for each shape, and the scan time by collection size."""
    rss.phase = "store"
    mongo = create_mongo_client(infra.mongo_uri)
    database = f"bench-store-{uuid.uuid4().hex[:8]}"
    collection = mongo[database]["requests"]
    await collection.create_index([("user_id", 1), ("state", 1), ("offset", 1)])
    await collection.create_index([("user_id", 1), ("enqueued_at", 1)])
    small = 500 if settings.quick else 1000
    try:
        docs = [_document(n, n % 100) for n in range(small)]
        ids = [d["_id"] for d in docs]
        inserts = await _rate(small, 16, lambda n: collection.insert_one(docs[n]))
        reads = await _rate(small, 16, lambda n: collection.find_one({"_id": ids[n]}))
        chunks = [ids[n : n + CHUNK] for n in range(0, small, CHUNK)]

        async def upsert_chunk(n: int) -> None:
            await collection.bulk_write(
                [
                    UpdateOne({"_id": i}, {"$set": {"state": "succeeded"}}, upsert=True)
                    for i in chunks[n]
                ],
                ordered=True,
            )

        chunk_rate = await _rate(len(chunks), 1, upsert_chunk)
        scans: dict[str, float] = {}
        for size in (small, small * 5):
            have = await collection.count_documents({})
            if have < size:
                await collection.insert_many([_document(n, n % 100) for n in range(have, size)])
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                await collection.count_documents({"user_id": "user-0001", "state": "queued"})
                timings.append((time.perf_counter() - started) * 1000)
            scans[str(size)] = median(timings)
    finally:
        await mongo.drop_database(database)
        await mongo.close()
    return {
        "insert_one_per_s": inserts,
        "find_one_by_id_per_s": reads,
        "upserts_by_id_per_s": round(chunk_rate * CHUNK, 1),
        "count_scan_ms_by_collection_size": scans,
    }
