"""The store's own speed: what the embedded MongoDB-wire server serves for Lanes' operations.

The same operations as issue 11's comparison table, 16 concurrent tasks on one
PyMongo async client unless said otherwise: ``update_one`` by ``_id`` at 2k and
100k documents, ``find_one`` by ``_id`` at 100k, the conditional transition
``update_one({_id, state_rank: {$lt: k}})``, unordered ``bulk_write`` of 32
upserts per call from one writer, single inserts (one writer, and 16), and
``count_documents`` of one user's queued requests at 20k documents.

Each configuration runs on a fresh server of its own, so their memory figures
compare: the devstack's (every write committed to the H2 file before its
reply) and, to price that durability, H2's own ~1 s commit timer. Beside each
rate is the server's CPU time per operation (read from /proc), which other
people's load on a shared machine moves much less than the rates.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pymongo import UpdateOne

from bench.harness import Settings, median
from bench.rss import PeakRss
from lanes_common.mongo import create_mongo_client
from lanes_common.types import MongoDocument
from lanes_devstack.process import free_port
from lanes_devstack.servers import MongoWireServer

CONCURRENCY = 16
BULK_SIZE = 32
SMALL = 2_000
COUNT_AT = 20_000
USERS = 100
LOAD_BATCH = 1_000
CONFIGURATIONS = {"commit_per_write": True, "timer_commit": False}


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """Rates of operations on one server, and the server's CPU time per operation.

    On a shared machine the rates move with other people's load; the CPU the
    server spends per operation moves much less, so it prices the per-write
    commit where the rates alone cannot.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.results: dict[str, Any] = {"server_cpu_ms": {}}

    async def rate(
        self,
        key: str,
        count: int,
        concurrency: int,
        op: Callable[[int], Awaitable[Any]],
        items_per_op: int = 1,
    ) -> None:
        """Record items per second of ``op(0..count-1)``, ``concurrency`` at a time."""
        queue = iter(range(count))

        async def worker() -> None:
            for n in queue:
                await op(n)

        cpu, started = _cpu_seconds(self.pid), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed, cpu = time.perf_counter() - started, _cpu_seconds(self.pid) - cpu
        items = count * items_per_op
        self.results[key] = round(items / elapsed, 1)
        self.results["server_cpu_ms"][key] = round(cpu * 1000 / items, 3)


def _document(n: int) -> MongoDocument:
    return {
        "_id": f"{n:08d}-{uuid.uuid4()}",
        "user_id": f"user-{n % USERS:04d}",
        "type": "echo",
        "payload_json": '{"n":1}',
        "state": "queued",
        "state_rank": 0,
        "attempts": 0,
        "offset": n,
    }


def _memory_mib(pid: int) -> dict[str, float]:
    """The process's resident set now and its high-water mark, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mib": fields["VmRSS"], "peak_rss_mib": fields["VmHWM"]}


async def _measure(uri: str, pid: int, ops: int, large: int) -> dict[str, Any]:
    """Every operation of the table on one server, growing the collection as it goes."""
    mongo = create_mongo_client(uri)
    collection = mongo["bench-store"]["requests"]
    # The indexes Lanes creates (served or not, their upkeep is part of each write).
    await collection.create_index([("user_id", 1), ("state", 1), ("offset", 1)])
    await collection.create_index([("user_id", 1), ("enqueued_at", 1)])
    ids: list[str] = []

    async def grow_to(size: int) -> None:
        while len(ids) < size:
            batch = [_document(n) for n in range(len(ids), min(size, len(ids) + LOAD_BATCH))]
            await collection.insert_many(batch, ordered=False)
            ids.extend(d["_id"] for d in batch)

    def spread(n: int, size: int) -> str:
        # A stride prime to the size visits every document, in no useful order.
        return ids[(n * 7919) % size]

    try:
        meter = Meter(pid)
        results = meter.results
        # Inserts and upserts go to a scratch collection, dropped after: a drop is
        # instant, where deleting the documents again would be a scan.
        scratch = mongo["bench-store"]["scratch"]
        fresh = [_document(n) for n in range(ops)]
        await meter.rate(
            "insert_one_one_writer_per_s", ops // 4, 1, lambda n: scratch.insert_one(fresh[n])
        )
        await meter.rate(
            "insert_one_per_s",
            ops - ops // 4,
            CONCURRENCY,
            lambda n: scratch.insert_one(fresh[ops // 4 + n]),
        )
        await grow_to(SMALL)
        await meter.rate(
            "update_by_id_2k_per_s",
            ops,
            CONCURRENCY,
            lambda n: collection.update_one({"_id": spread(n, SMALL)}, {"$inc": {"attempts": 1}}),
        )
        applied = 0

        async def transition(n: int) -> None:
            nonlocal applied
            result = await collection.update_one(
                {"_id": ids[n], "state_rank": {"$lt": 1}},
                {"$set": {"state": "processing", "state_rank": 1}},
            )
            applied += result.modified_count

        await meter.rate("conditional_update_per_s", SMALL, CONCURRENCY, transition)
        if applied != SMALL:
            raise RuntimeError(f"{applied} of {SMALL} conditional updates applied")
        upserts = [f"upsert-{n}" for n in range(ops)]

        async def upsert_bulk(n: int) -> None:
            await scratch.bulk_write(
                [
                    UpdateOne({"_id": i}, {"$set": {"state": "succeeded"}}, upsert=True)
                    for i in upserts[n * BULK_SIZE : (n + 1) * BULK_SIZE]
                ],
                ordered=False,
            )

        bulks = ops // BULK_SIZE
        await meter.rate("bulk_upserts_docs_per_s", bulks, 1, upsert_bulk, BULK_SIZE)
        await scratch.drop()
        await grow_to(COUNT_AT)
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            await collection.count_documents({"user_id": "user-0001", "state": "queued"})
            timings.append((time.perf_counter() - started) * 1000)
        results["count_ms_at_20k"] = median(timings)
        await grow_to(large)
        results["large"] = large
        await meter.rate(
            "update_by_id_large_per_s",
            ops,
            CONCURRENCY,
            lambda n: collection.update_one({"_id": spread(n, large)}, {"$inc": {"attempts": 1}}),
        )
        await meter.rate(
            "find_by_id_large_per_s",
            ops,
            CONCURRENCY,
            lambda n: collection.find_one({"_id": spread(n, large)}),
        )
        return results
    finally:
        await mongo.close()


async def run_store_bound(settings: Settings, work_dir: Path, rss: PeakRss) -> dict[str, Any]:
    """The table for each configuration, with its server's memory and data file size."""
    ops, large = (1_000, 20_000) if settings.quick else (5_000, 100_000)
    results: dict[str, Any] = {}
    for name, commit_per_write in CONFIGURATIONS.items():
        rss.phase = f"store ({name})"
        server = MongoWireServer(free_port(), work_dir / f"store-{name}", commit_per_write)
        await asyncio.to_thread(server.start)
        try:
            assert server.process is not None and server.process.pid is not None
            measured = await _measure(server.uri, server.process.pid, ops, large)
            measured.update(_memory_mib(server.process.pid))
            measured["data_file_mib"] = round(server.data_file.stat().st_size / 2**20, 1)
            results[name] = measured
        finally:
            await asyncio.to_thread(server.stop)
    return results
