"""Spilling and refill: a lane holds at most its bound; the rest comes back from the log, in order.

The log is a list standing in for the partition; `ListSource` reads it from
an offset as the Kafka reader would, in small batches.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable

from lanes_processor.consumer.lanes import PartitionLanes
from lanes_processor.records import ConsumedRecord

WAIT = 5.0


def record(offset: int, key: bytes) -> ConsumedRecord:
    return ConsumedRecord("t", 0, offset, key, b"", [])


class ListSource:
    """A `RecordSource` over a list of records, 7 at a time."""

    def __init__(self, log: list[ConsumedRecord]) -> None:
        self.log = log
        self.position = 0
        self.seeks: list[int] = []
        self.read_count = 0
        self.closed = False

    async def seek(self, offset: int) -> None:
        self.seeks.append(offset)
        self.position = offset

    async def read(self) -> list[ConsumedRecord]:
        await asyncio.sleep(0)
        batch = [r for r in self.log if r.offset >= self.position][:7]
        if batch:
            self.position = batch[-1].offset + 1
        self.read_count += len(batch)
        return batch

    async def close(self) -> None:
        self.closed = True


class Work:
    """Runs records at once (one loop pass each), except keys told to wait; checks bounds."""

    def __init__(self) -> None:
        self.done: defaultdict[bytes, list[int]] = defaultdict(list)
        self.order: list[tuple[bytes, int]] = []
        self.gates: dict[bytes, asyncio.Event] = {}
        self.partition_lanes: PartitionLanes | None = None
        self.most_held = 0
        self.all_done = asyncio.Event()
        self.changed = asyncio.Event()
        self.expected = 0

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait until ``condition`` holds, looking again after each record run."""
        while not condition():
            self.changed.clear()
            await self.changed.wait()

    async def __call__(self, r: ConsumedRecord) -> None:
        assert self.partition_lanes is not None
        self.most_held = max(self.most_held, self.partition_lanes.held)
        gate = self.gates.get(r.key or b"")
        if gate is not None:
            await gate.wait()
        await asyncio.sleep(0)
        self.done[r.key or b""].append(r.offset)
        self.order.append((r.key or b"", r.offset))
        self.changed.set()
        if len(self.order) == self.expected:
            self.all_done.set()


def partition(
    work: Work, log: list[ConsumedRecord], per_user: int, bound: int = 1_000
) -> tuple[PartitionLanes, ListSource]:
    source = ListSource(log)
    partition_lanes = PartitionLanes(
        "t", 0, work, per_user=per_user, bound=bound, open_source=lambda _t, _p: source
    )
    work.partition_lanes = partition_lanes
    work.expected = len(log)
    return partition_lanes, source


def offsets_of(log: list[ConsumedRecord], key: bytes) -> list[int]:
    return [r.offset for r in log if r.key == key]


async def test_a_heavy_user_holds_its_bound_and_light_users_go_first() -> None:
    log = [record(o, b"heavy") for o in range(60)] + [record(60 + n, b"l%d" % n) for n in range(5)]
    work = Work()
    partition_lanes, source = partition(work, log, per_user=4)
    for r in log:
        partition_lanes.add(r)
    assert partition_lanes.held == 4 + 5  # the heavy user's bound, and each light user's one
    assert set(partition_lanes.spilled) == {b"heavy"}
    await asyncio.wait_for(work.all_done.wait(), WAIT)
    assert work.done[b"heavy"] == offsets_of(log, b"heavy")  # in order, each once
    assert work.most_held <= 9
    lights_done = max(work.order.index((b"l%d" % n, 60 + n)) for n in range(5))
    assert lights_done < work.order.index((b"heavy", 10))
    assert partition_lanes.offsets.commit_contiguous_offsets() == len(log)
    assert partition_lanes.spilled == {}
    # Rounds go on from the last batch read: each record is read again about once.
    assert source.read_count <= len(log) + 7
    assert len(source.seeks) <= 2


async def test_a_spilled_user_blocked_on_a_stuck_record_does_not_hold_up_another() -> None:
    log = [record(o, b"a" if o % 2 == 0 else b"b") for o in range(40)]
    work = Work()
    work.gates[b"a"] = asyncio.Event()  # a's first record is stuck
    partition_lanes, _ = partition(work, log, per_user=3)
    for r in log:
        partition_lanes.add(r)
    await asyncio.wait_for(work.until(lambda: len(work.done[b"b"]) == 20), WAIT)
    assert work.done[b"a"] == []
    assert work.done[b"b"] == offsets_of(log, b"b")
    # The stuck record holds the commit point: nothing past it is committable.
    assert partition_lanes.offsets.commit_contiguous_offsets() is None
    work.gates[b"a"].set()
    await asyncio.wait_for(work.all_done.wait(), WAIT)
    assert work.done[b"a"] == offsets_of(log, b"a")
    assert partition_lanes.offsets.commit_contiguous_offsets() == 40


async def test_the_partition_bound_holds_while_refilling() -> None:
    log = [record(o, b"u%d" % (o % 4)) for o in range(80)]
    work = Work()
    partition_lanes, _ = partition(work, log, per_user=4, bound=6)
    for r in log:
        partition_lanes.add(r)
    await asyncio.wait_for(work.all_done.wait(), WAIT)
    assert work.most_held <= 16  # what the consumer held before the engine paused it
    for n in range(4):
        assert work.done[b"u%d" % n] == offsets_of(log, b"u%d" % n)


async def test_refill_never_hands_over_what_the_consumer_has_not_read() -> None:
    log = [record(o, b"heavy") for o in range(30)]
    work = Work()
    partition_lanes, _ = partition(work, log, per_user=4)
    for r in log[:10]:  # the consumer has read only 10 so far
        partition_lanes.add(r)
    await asyncio.wait_for(work.until(lambda: len(work.done[b"heavy"]) == 10), WAIT)
    assert partition_lanes.spilled == {}  # caught up at the read position
    for r in log[10:]:
        partition_lanes.add(r)
    await asyncio.wait_for(work.all_done.wait(), WAIT)
    assert work.done[b"heavy"] == list(range(30))


async def test_a_user_spilled_again_after_catching_up_keeps_order() -> None:
    log = [record(o, b"u" if o % 3 else b"v") for o in range(90)]
    work = Work()
    partition_lanes, _ = partition(work, log, per_user=2)
    for r in log[:45]:
        partition_lanes.add(r)
    await asyncio.sleep(0)
    for r in log[45:]:
        partition_lanes.add(r)
    await asyncio.wait_for(work.all_done.wait(), WAIT)
    assert work.done[b"u"] == offsets_of(log, b"u")
    assert work.done[b"v"] == offsets_of(log, b"v")


async def test_release_closes_the_reader_and_runs_nothing_more() -> None:
    log = [record(o, b"heavy") for o in range(20)]
    work = Work()
    work.gates[b"heavy"] = asyncio.Event()
    partition_lanes, _ = partition(work, log, per_user=2)
    for r in log:
        partition_lanes.add(r)
    await asyncio.sleep(0)
    release = asyncio.create_task(partition_lanes.release(0.05))
    work.gates[b"heavy"].set()
    await asyncio.wait_for(release, WAIT)
    assert len(work.done[b"heavy"]) <= 2
    assert partition_lanes.held == 0
