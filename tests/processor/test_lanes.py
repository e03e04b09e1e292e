"""Lanes: one key runs in order and alone; different keys run side by side."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from lanes_processor.consumer.lanes import PartitionLanes
from lanes_processor.records import ConsumedRecord

WAIT = 2.0


class GatedWork:
    """A stand-in handler whose records start and finish when the test says so."""

    def __init__(self) -> None:
        self.started: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.release: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.finished: list[int] = []
        self.running = 0
        self.most_running = 0

    async def __call__(self, record: ConsumedRecord) -> None:
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        self.started[record.offset].set()
        try:
            await self.release[record.offset].wait()
        finally:
            self.running -= 1
        self.finished.append(record.offset)

    async def wait_started(self, *offsets: int) -> None:
        for o in offsets:
            await asyncio.wait_for(self.started[o].wait(), WAIT)


def record(offset: int, key: bytes) -> ConsumedRecord:
    return ConsumedRecord("t", 0, offset, key, b"", [])


async def test_one_key_waits_while_other_keys_run() -> None:
    work = GatedWork()
    partition_lanes = PartitionLanes("t", 0, work)
    for o, key in [(0, b"slow"), (1, b"fast"), (2, b"slow"), (3, b"fast")]:
        partition_lanes.add(record(o, key))

    await work.wait_started(0, 1)
    assert not work.started[2].is_set()  # same key as 0: waits behind it
    work.release[1].set()
    await work.wait_started(3)  # the fast key moves on while the slow one is busy
    work.release[3].set()
    assert not work.started[2].is_set()
    work.release[0].set()
    await work.wait_started(2)
    work.release[2].set()
    await partition_lanes.release(deadline=WAIT)
    assert work.finished.index(0) < work.finished.index(2)
    assert work.finished.index(1) < work.finished.index(3)
    assert partition_lanes.offsets.commit_contiguous_offsets() == 4


async def test_partition_ordering_runs_one_record_at_a_time() -> None:
    work = GatedWork()
    partition_lanes = PartitionLanes("t", 0, work, by_key=False)
    for o, key in [(0, b"a"), (1, b"b"), (2, b"c")]:
        partition_lanes.add(record(o, key))
    for o in range(3):
        await work.wait_started(o)
        assert work.running == 1
        work.release[o].set()
    await partition_lanes.release(deadline=WAIT)
    assert work.finished == [0, 1, 2]


async def test_every_key_gets_a_lane_of_its_own() -> None:
    """Lanes do not bound concurrency (the runner's in-flight slots do): six keys, six runs."""
    work = GatedWork()
    partition_lanes = PartitionLanes("t", 0, work)
    for o in range(6):
        partition_lanes.add(record(o, f"user-{o}".encode()))
    await work.wait_started(*range(6))
    assert work.running == 6
    for o in range(6):
        work.release[o].set()
    await partition_lanes.release(deadline=WAIT)
    assert sorted(work.finished) == list(range(6))


async def test_release_finishes_running_work_and_starts_nothing_new() -> None:
    work = GatedWork()
    partition_lanes = PartitionLanes("t", 0, work)
    for o, key in [(0, b"a"), (1, b"a"), (2, b"b")]:
        partition_lanes.add(record(o, key))
    await work.wait_started(0, 2)
    work.release[0].set()
    work.release[2].set()
    await partition_lanes.release(deadline=WAIT)
    # 1 was never started: it stays uncommitted, for the partition's next owner.
    assert not work.started[1].is_set()
    assert partition_lanes.offsets.commit_contiguous_offsets() == 1


async def test_release_cancels_work_that_outlives_the_deadline() -> None:
    work = GatedWork()
    partition_lanes = PartitionLanes("t", 0, work)
    partition_lanes.add(record(0, b"a"))
    await work.wait_started(0)
    await partition_lanes.release(deadline=0.05)
    assert work.finished == []
    assert partition_lanes.offsets.commit_contiguous_offsets() is None


async def test_a_repeated_delivery_is_not_run_twice() -> None:
    work = GatedWork()
    partition_lanes = PartitionLanes("t", 0, work)
    partition_lanes.add(record(0, b"a"))
    await work.wait_started(0)
    work.release[0].set()
    partition_lanes.add(record(0, b"a"))  # the same offset again, before or after it finished
    await partition_lanes.release(deadline=WAIT)
    assert work.finished == [0]
    assert partition_lanes.offsets.commit_contiguous_offsets() == 1
