"""Proof 2: the MongoDB-wire server goes away mid-run; no offset is committed past unrecorded work.

While the store is down, handlers may still finish, but their outcome cannot
be recorded, so their offsets must not be committed. Two checks:

- The group's committed offsets are read (admin API, never joining the group)
  throughout the outage; every record below them must have a terminal status
  that was written before the store went away.
- Before the store comes back, one replica is SIGKILLed: whatever it had done
  but not recorded dies with it. Its partitions resume from the committed
  offsets, so if any offset had been committed past unrecorded work, that
  request would never complete. The other replica rides out the outage and
  finishes its own work once the store is back.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from pathlib import Path

import pytest

from lanes_common.messages import utc_now
from lanes_devstack import servers
from lanes_devstack.infra import LocalInfra
from lanes_devstack.waiting import eventually
from tests.processor.proof_checks import assert_each_succeeded_once_in_order
from tests.processor.proof_kafka import committed_offsets, interleaved_sleeps
from tests.processor.proof_status import StatusWatcher
from tests.processor.proof_support import proof_run, replica_metric, require_no_listener

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USERS = 60
REQUESTS = 900
REPLICAS = 2
PARTITIONS = 4
FIRST_WAVE = 0.3
"""The share produced before the outage is prepared; the rest just before it begins."""
OUTAGE_WHEN_DONE = 0.25
OUTAGE_SECONDS = 8.0
"""Long enough for several commit intervals (1 s) and a store retry or two to pass."""


async def committed_during_outage(
    bootstrap_servers: str, group_id: str
) -> list[dict[tuple[str, int], int]]:
    """Read the committed offsets about once a second until the outage has lasted long enough."""
    readings: list[dict[tuple[str, int], int]] = []
    began = time.monotonic()

    async def outage_long_enough() -> bool:
        readings.append(await asyncio.to_thread(committed_offsets, bootstrap_servers, group_id))
        return time.monotonic() - began >= OUTAGE_SECONDS and len(readings) >= 3

    await eventually(outage_long_enough, OUTAGE_SECONDS + 30, "outage held", interval=1.0)
    return readings


async def test_no_offset_is_committed_past_work_the_store_never_recorded(
    local_infra: LocalInfra, unique_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The processors' connections to the stopped server linger on its port; the
    # devstack's free-port check counts them, the server itself does not.
    monkeypatch.setattr(servers, "require_free_port", require_no_listener)
    rng = random.Random(unique_name)
    async with proof_run(
        local_infra, unique_name, tmp_path / "logs", replicas=REPLICAS, partitions=PARTITIONS
    ) as run:
        names, fleet, producer, reader = run
        messages = interleaved_sleeps(rng, USERS, REQUESTS)
        first_wave = int(FIRST_WAVE * REQUESTS)
        kafka = local_infra.kafka_bootstrap_servers
        # Some work is recorded and committed before the outage; the second wave,
        # produced just before the store goes away, is what the replicas hold
        # during it, however fast they ran through the first.
        produced = await producer.produce(messages[:first_wave])
        ids = [m.id for m in messages]
        async with StatusWatcher(reader, ids) as watcher:
            await watcher.wait_done(int(OUTAGE_WHEN_DONE * REQUESTS), within=180)
        done_before_outage = watcher.done
        produced += await producer.produce(messages[first_wave:])

        await asyncio.to_thread(local_infra.mongo.stop)
        # Any write that landed before the restart landed before this moment.
        stopped_at = utc_now()
        try:
            readings = await committed_during_outage(kafka, names.group_id)
            victim = fleet.replicas[0]
            unfinished = await replica_metric(victim, "lanes_processor_buffered")
            fleet.kill(victim)
            readings.append(await asyncio.to_thread(committed_offsets, kafka, names.group_id))
        finally:
            await asyncio.to_thread(local_infra.mongo.start)
        restarted_at = utc_now()

        async with StatusWatcher(reader, ids, watcher.history) as after:
            docs = await after.wait_all_done(within=300)

    # Commits only move forward, even while nothing can be recorded.
    for earlier, later in itertools.pairwise(readings):
        assert all(later.get(tp, -1) >= offset for tp, offset in earlier.items()), readings
    committed = readings[-1]
    covered = [p for p in produced if p.offset < committed.get((names.topic, p.partition), 0)]
    # The outage hit mid-run: some work was committed before it, and much remained.
    assert covered, f"nothing committed before the outage ({done_before_outage} done)"
    assert len(covered) < REQUESTS
    assert unfinished > 0, "the killed replica had nothing in hand"
    # Everything committed was recorded, terminal, before the store went away.
    for p in covered:
        doc = docs[p.id]
        assert doc["state"] == "succeeded", (p.partition, p.offset, doc)
        assert doc["finished_at"] < stopped_at, (
            f"partition {p.partition} offset {p.offset} is below the committed offset "
            f"{committed[(names.topic, p.partition)]} but finished at "
            f"{doc['finished_at'].isoformat()}, after the store stopped at {stopped_at.isoformat()}"
        )
    # After the store came back, every request completed (the killed replica's
    # unrecorded work too, redone from the committed offsets), in order, none backwards.
    assert len(produced) == REQUESTS
    assert_each_succeeded_once_in_order(produced, docs, USERS, after.history)
    assert any(doc["finished_at"] > restarted_at for doc in docs.values())
