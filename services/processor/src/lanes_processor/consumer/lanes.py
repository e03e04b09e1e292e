"""Key-ordered concurrency within a partition.

Each partition's records are split into lanes by key (the user id): a lane
runs its records strictly one after another, in offset order, while lanes
run concurrently, so one slow user never holds up the others. In
``partition`` ordering the whole partition is a single lane.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from lanes_processor.consumer.offsets import PartitionOffsets
from lanes_processor.records import ConsumedRecord

RunRecord = Callable[[ConsumedRecord], Awaitable[None]]

logger = logging.getLogger(__name__)

PARTITION_LANE = b""
UNEXPECTED_FAILURE_PAUSE_SECONDS = 1.0


class PartitionLanes:
    """The work received from one partition: its lanes, their tasks, and its offsets."""

    def __init__(
        self,
        topic: str,
        partition: int,
        run_record: RunRecord,
        by_key: bool = True,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.offsets = PartitionOffsets()
        self._run_record = run_record
        self._by_key = by_key
        self._lanes: dict[bytes, deque[ConsumedRecord]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._revoked = False

    @property
    def buffered(self) -> int:
        """Records received and not yet finished."""
        return len(self.offsets)

    def add(self, record: ConsumedRecord) -> None:
        """Queue a record behind its key's earlier records; start its lane if idle."""
        if self._revoked:
            return
        if self.offsets.is_behind(record.offset):
            # librdkafka delivers each offset once per assignment; never run one twice.
            logger.warning(
                "repeated record ignored",
                extra={"partition": self.partition, "offset": record.offset},
            )
            return
        self.offsets.track(record.offset)
        key = (record.key or PARTITION_LANE) if self._by_key else PARTITION_LANE
        lane = self._lanes.get(key)
        if lane is not None:
            lane.append(record)
            return
        lane = deque([record])
        self._lanes[key] = lane
        task = asyncio.create_task(self._run_lane(key, lane), name=f"lane-{self.partition}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_lane(self, key: bytes, lane: deque[ConsumedRecord]) -> None:
        try:
            while lane and not self._revoked:
                record = lane[0]
                try:
                    await self._run_record(record)
                except Exception:
                    # A bug, not a handler failure (those are the runner's): never
                    # skip the record; log loudly and try it again.
                    logger.exception(
                        "record failed unexpectedly; retrying",
                        extra={"partition": self.partition, "offset": record.offset},
                    )
                    await asyncio.sleep(UNEXPECTED_FAILURE_PAUSE_SECONDS)
                    continue
                lane.popleft()
                self.offsets.finish(record.offset)
        finally:
            # No await between the last check of `lane` and here: a record for
            # this key that arrives later starts a fresh lane, never a lost one.
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    async def release(self, deadline: float) -> None:
        """Start nothing new; let running records finish until ``deadline``, then cancel them.

        Records not finished stay uncommitted and go to the partition's next owner.
        """
        self._revoked = True
        tasks = set(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._lanes.clear()

    def abandon(self) -> None:
        """The partition is lost (another owner may already run it): cancel at once."""
        self._revoked = True
        for task in self._tasks:
            task.cancel()
        self._lanes.clear()
