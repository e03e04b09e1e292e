"""What a MongoDB-wire server acknowledged survives a ``kill -9`` of it.

Lanes commits a Kafka offset once the status writes before it are
acknowledged; a server that forgets an acknowledged write after a crash would
leave requests that Kafka will never redeliver unrecorded. MongoDB's journal
keeps them; the embedded server's launcher commits its H2 file before each
reply. This starts an embedded server of its own (in any mode but external
and docker, where the server is not ours to kill), kills it while 16 writers are mid-flight, starts
it again on the same data file and looks for every acknowledged write.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient, UpdateOne
from pymongo.errors import PyMongoError

from lanes_common.types import MongoDocument
from lanes_devstack.infra_modes import MODE_VARIABLE
from lanes_devstack.process import free_port
from lanes_devstack.servers import MongoWireServer

pytestmark = pytest.mark.integration

WRITERS = 16
KILL_AFTER_ACKNOWLEDGED = 400
BULK_SIZE = 32


def _client(uri: str) -> AsyncMongoClient[MongoDocument]:
    # No retried writes: a write is either acknowledged or unknown, never answered twice.
    return AsyncMongoClient(uri, serverSelectionTimeoutMS=2_000, retryWrites=False)


async def test_acknowledged_writes_survive_a_kill_9_of_the_server(tmp_path: Path) -> None:
    """Inserts, conditional transitions and unordered bulks acknowledged before the kill."""
    if (os.environ.get(MODE_VARIABLE) or "local") != "local":
        pytest.skip(f"kills the server: needs the embedded one ({MODE_VARIABLE}=local)")
    server = MongoWireServer(free_port(), tmp_path / "mongo")
    await asyncio.to_thread(server.start)
    client = _client(server.uri)
    requests = client["lanes"]["requests"]
    inserted: set[str] = set()
    started: set[str] = set()
    upserted: set[str] = set()
    enough = asyncio.Event()

    def acknowledged() -> int:
        return len(inserted) + len(started) + len(upserted)

    async def insert_then_start(writer: int) -> None:
        # One request after another: insert it queued, then move it to processing.
        for n in range(10**6):
            request_id = f"w{writer}-{n}"
            await requests.insert_one({"_id": request_id, "state_rank": 0})
            inserted.add(request_id)
            result = await requests.update_one(
                {"_id": request_id, "state_rank": {"$lt": 1}}, {"$set": {"state_rank": 1}}
            )
            assert result.modified_count == 1
            started.add(request_id)
            if acknowledged() >= KILL_AFTER_ACKNOWLEDGED:
                enough.set()

    async def bulk_upserts() -> None:
        for n in range(10**6):
            ids = [f"b{n}-{i}" for i in range(BULK_SIZE)]
            await requests.bulk_write(
                [UpdateOne({"_id": i}, {"$set": {"state_rank": 2}}, upsert=True) for i in ids],
                ordered=False,
            )
            upserted.update(ids)

    tasks = [asyncio.create_task(insert_then_start(w)) for w in range(WRITERS - 1)]
    tasks.append(asyncio.create_task(bulk_upserts()))
    try:
        await asyncio.wait_for(enough.wait(), timeout=120)
        await asyncio.to_thread(server.kill)
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        # Every writer was cut off by the kill, mid-flight.
        assert all(isinstance(o, PyMongoError) for o in outcomes), outcomes
    finally:
        for task in tasks:
            task.cancel()
        await client.close()
    assert acknowledged() >= KILL_AFTER_ACKNOWLEDGED

    restarted = MongoWireServer(server.port, server.data_dir)
    await asyncio.to_thread(restarted.start)
    client = _client(restarted.uri)
    try:
        requests = client["lanes"]["requests"]
        ranks = {d["_id"]: d["state_rank"] async for d in requests.find({})}
    finally:
        await client.close()
        await asyncio.to_thread(restarted.stop)
    assert inserted - ranks.keys() == set()
    assert {i for i in started if ranks[i] != 1} == set()
    assert {i for i in upserted if ranks.get(i) != 2} == set()
