"""Records read again after a restart: terminal ones are found in one lookup and not run."""

from __future__ import annotations

import asyncio

from lanes_common.messages import HEADER_REQUEST_ID
from lanes_processor.consumer.lanes import PartitionLanes
from lanes_processor.consumer.replayed import request_id
from lanes_processor.records import ConsumedRecord

WAIT = 2.0


def record(offset: int, key: bytes) -> ConsumedRecord:
    return ConsumedRecord("t", 0, offset, key, b"", [(HEADER_REQUEST_ID, f"r{offset}".encode())])


class Lookup:
    """Knows which requests are terminal; counts the queries."""

    def __init__(self, terminal: set[str]) -> None:
        self.terminal_ids = terminal
        self.queries: list[list[str]] = []

    async def terminal(self, request_ids: list[str]) -> set[str]:
        self.queries.append(request_ids)
        return self.terminal_ids & set(request_ids)


class Work:
    def __init__(self, expected: int) -> None:
        self.ran: list[int] = []
        self.expected = expected
        self.done = asyncio.Event()

    async def __call__(self, r: ConsumedRecord) -> None:
        await asyncio.sleep(0)
        self.ran.append(r.offset)
        if len(self.ran) == self.expected:
            self.done.set()


async def test_finished_records_in_the_replay_zone_are_skipped_after_one_lookup() -> None:
    # Offsets 0-29 were there when the partition was assigned; 0-19 already finished.
    lookup = Lookup({f"r{o}" for o in range(20)})
    work = Work(expected=10 + 5)
    partition_lanes = PartitionLanes("t", 0, work, finished_lookup=lookup, replay_until=30)
    for o in range(35):
        partition_lanes.add(record(o, b"user"))
    await asyncio.wait_for(work.done.wait(), WAIT)
    assert work.ran == list(range(20, 35))
    assert len(lookup.queries) == 1  # one query for the lane's held replay-zone records
    assert lookup.queries[0] == [f"r{o}" for o in range(30)]
    assert partition_lanes.offsets.commit_contiguous_offsets() == 35


async def test_records_after_the_replay_zone_are_not_looked_up() -> None:
    lookup = Lookup(set())
    work = Work(expected=5)
    partition_lanes = PartitionLanes("t", 0, work, finished_lookup=lookup, replay_until=-1)
    for o in range(5):
        partition_lanes.add(record(o, b"user"))
    await asyncio.wait_for(work.done.wait(), WAIT)
    assert lookup.queries == []


def test_the_request_id_comes_from_the_headers() -> None:
    assert request_id(record(3, b"u")) == "r3"
    assert request_id(ConsumedRecord("t", 0, 0, b"u", b"", [])) is None
