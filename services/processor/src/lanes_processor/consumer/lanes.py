"""Key-ordered concurrency within a partition, holding a bounded number of records.

Each partition's records are split into lanes by key (the user id): a lane
runs its records strictly one after another, in offset order, while lanes
run concurrently, so one slow user never holds up the others. In
``partition`` ordering the whole partition is a single lane (the baseline).

A lane holds at most ``per_user`` records. When a record arrives for a full
lane, the lane *spills*: it remembers only the offset of that record, and
every later record of that key is dropped on arrival too (they belong behind
it). `Refill` reads the spilled records again from Kafka, in order, when the
lane has room. Dropped records stay unfinished in `PartitionOffsets`, so the
commit point never passes them.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pymongo.errors import PyMongoError

from lanes_processor.consumer.backfill import Refill, SourceFactory
from lanes_processor.consumer.observers import ConsumerObserver
from lanes_processor.consumer.offsets import PartitionOffsets
from lanes_processor.consumer.replayed import FinishedLookup, finished_offsets
from lanes_processor.records import ConsumedRecord

RunRecord = Callable[[ConsumedRecord], Awaitable[None]]

logger = logging.getLogger(__name__)

PARTITION_LANE = b""
UNEXPECTED_FAILURE_PAUSE_SECONDS = 1.0


@dataclass(eq=False)
class UserLane:
    """One key's records in memory, and where its records not in memory start."""

    key: bytes
    held: deque[ConsumedRecord] = field(default_factory=deque)
    spilled_from: int | None = None
    """The offset of this key's first record that is neither held nor finished."""
    running: bool = False
    checked_to: int = -1
    """Held records up to this offset were looked up (replay zone only)."""
    finished: set[int] = field(default_factory=set)
    """Offsets of held records found already terminal: finished without running."""


class PartitionLanes:
    """The work read from one partition: its lanes, their tasks, and its offsets."""

    def __init__(
        self,
        topic: str,
        partition: int,
        run_record: RunRecord,
        by_key: bool = True,
        *,
        per_user: int = sys.maxsize,
        bound: int = sys.maxsize,
        open_source: SourceFactory | None = None,
        finished_lookup: FinishedLookup | None = None,
        replay_until: int = -1,
        observer: ConsumerObserver | None = None,
    ) -> None:
        """``per_user``: records one key may hold (``key`` ordering); ``bound``: the partition's.

        ``open_source`` opens a reader of this partition for spilled records;
        without one, lanes never spill (they hold up to the partition bound).
        Records below ``replay_until`` (the partition's end when it was
        assigned) are looked up in ``finished_lookup`` before they run.
        """
        self.topic = topic
        self.partition = partition
        self.offsets = PartitionOffsets()
        self.bound = bound
        self.revoked = False
        self._run_record = run_record
        self._by_key = by_key
        self._per_user = per_user if by_key and open_source is not None else sys.maxsize
        self._lanes: dict[bytes, UserLane] = {}
        self._spilled: dict[bytes, UserLane] = {}
        self._held = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._observer = observer or ConsumerObserver()
        self._refill = (
            Refill(self, open_source, self._observer) if open_source is not None else None
        )
        self._finished_lookup = finished_lookup
        self._replay_until = replay_until

    @property
    def held(self) -> int:
        """Records in memory and not yet finished."""
        return self._held

    @property
    def spilled(self) -> dict[bytes, UserLane]:
        """Lanes with records that are not in memory, by key."""
        return self._spilled

    @property
    def refill_low_watermark(self) -> int:
        """A spilled lane asks for its records back once it holds this many or fewer."""
        return self._per_user // 2

    def room(self, lane: UserLane) -> int:
        """How many more records ``lane`` may hold now (its own bound and the partition's)."""
        return min(self._per_user - len(lane.held), self.bound - self._held)

    def wanting(self) -> list[UserLane]:
        """Spilled lanes drained to their low watermark, while the partition has room."""
        if self._held >= self.bound:
            return []
        return [
            lane for lane in self._spilled.values() if len(lane.held) <= self.refill_low_watermark
        ]

    def add(self, record: ConsumedRecord) -> None:
        """A record read by the partition's consumer: hold it behind its key's, or spill it."""
        if self.revoked:
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
        if lane is None:
            lane = self._lanes[key] = UserLane(key)
        if lane.spilled_from is not None:
            return  # behind this key's spilled records: read again after them
        if len(lane.held) >= self._per_user:
            lane.spilled_from = record.offset
            self._spilled[key] = lane
            self._observer.spilled(1)
            return
        self._hold(lane, record)

    def hand(self, lane: UserLane, record: ConsumedRecord) -> None:
        """A spilled record read again, the next one of ``lane``: hold it."""
        lane.spilled_from = record.offset + 1
        self._hold(lane, record)

    def caught_up(self, lane: UserLane) -> None:
        """Every record of ``lane`` below the read position is held or finished again."""
        lane.spilled_from = None
        if self._spilled.pop(lane.key, None) is not None:
            self._observer.spilled(-1)
        self._forget_if_idle(lane)

    def _hold(self, lane: UserLane, record: ConsumedRecord) -> None:
        lane.held.append(record)
        self._held += 1
        if lane.running:
            return
        lane.running = True
        task = asyncio.create_task(self._run_lane(lane), name=f"lane-{self.partition}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_lane(self, lane: UserLane) -> None:
        try:
            while lane.held and not self.revoked:
                record = lane.held[0]
                if lane.checked_to < record.offset < self._replay_until:
                    await self._look_up_replayed(lane)
                try:
                    if record.offset in lane.finished:
                        lane.finished.discard(record.offset)
                        self._observer.replay_skipped()
                    else:
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
                lane.held.popleft()
                self._held -= 1
                self.offsets.finish(record.offset)
                if self._spilled and self._refill is not None:
                    self._refill.wake()
        finally:
            # No await between the last check of `lane.held` and here: a record for
            # this key that arrives later starts the lane again, never a lost one.
            lane.running = False
            self._forget_if_idle(lane)

    async def _look_up_replayed(self, lane: UserLane) -> None:
        """One lookup for every held record of ``lane`` in the replay zone."""
        candidates = [r for r in lane.held if lane.checked_to < r.offset < self._replay_until]
        lane.checked_to = candidates[-1].offset
        if self._finished_lookup is None:
            return
        try:
            lane.finished |= await finished_offsets(self._finished_lookup, candidates)
        except PyMongoError as exc:
            # Not needed for correctness: each record's first status write checks again.
            logger.warning("looking up replayed records failed", extra={"error": str(exc)})

    def _forget_if_idle(self, lane: UserLane) -> None:
        if (
            not lane.held
            and not lane.running
            and lane.spilled_from is None
            and self._lanes.get(lane.key) is lane
        ):
            del self._lanes[lane.key]

    async def release(self, deadline: float) -> None:
        """Start nothing new; let running records finish until ``deadline``, then cancel them.

        Records not finished stay uncommitted and go to the partition's next owner.
        """
        self.revoked = True
        if self._refill is not None:
            await self._refill.close()
        tasks = set(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._clear()

    async def abandon(self) -> None:
        """The partition is lost (another owner may already run it): cancel at once."""
        self.revoked = True
        for task in self._tasks:
            task.cancel()
        if self._refill is not None:
            await self._refill.close()
        self._clear()

    def _clear(self) -> None:
        self._observer.spilled(-len(self._spilled))
        self._spilled.clear()
        self._lanes.clear()
        self._held = 0
