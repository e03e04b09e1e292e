"""Spilled records come back from Kafka: a second reader per partition, rounds of refill.

A lane that hit its bound keeps only "spilled from offset X". When spilled
lanes have room again, `Refill` runs a *round*: it points its own reader (no
group, no commits) at the lowest spilled offset among them and reads forward
to where the partition's consumer has read. Each record of a spilled lane
with room goes to that lane, in order. A lane that fills up during a round is
*blocked* for the rest of it (its next record must wait, and nothing after
it may pass it). A round ends early once no spilled lane can take anything;
a lane the round carried up to the read position is caught up, and the
partition's consumer feeds it directly again.

The cost is reading other users' records in between again; a lane's records
are usually close together (a burst). The last batch a round read is kept
(at most `READ_BATCH` records), so the next round, which usually starts
inside it, goes on from there without a seek: each record is read again about
once, not once per round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from confluent_kafka import Consumer, KafkaException, TopicPartition

from lanes_common.types import KafkaConfig
from lanes_processor.consumer.observers import ConsumerObserver
from lanes_processor.records import ConsumedRecord, from_message

if TYPE_CHECKING:
    from lanes_processor.consumer.lanes import PartitionLanes

logger = logging.getLogger(__name__)

READ_BATCH = 200
READ_TIMEOUT_SECONDS = 0.2
ERROR_PAUSE_SECONDS = 1.0


class RecordSource(Protocol):
    """Reads one partition forward from an offset."""

    async def seek(self, offset: int) -> None:
        """Read from ``offset`` next."""

    async def read(self) -> list[ConsumedRecord]:
        """The next records (none when nothing arrived in time)."""

    async def close(self) -> None:
        """Release the reader."""


SourceFactory = Callable[[str, int], RecordSource]


def backfill_config(consumer_settings: KafkaConfig) -> KafkaConfig:
    """A reader by assignment beside the group's consumer: never joins, never commits.

    Its prefetch is small: a round reads a little past what it hands over.
    """
    return {
        "bootstrap.servers": consumer_settings["bootstrap.servers"],
        # Required by librdkafka; with `assign` and no commits, no group is joined.
        "group.id": f"{consumer_settings['group.id']}.backfill",
        "client.id": f"{consumer_settings.get('client.id', 'lanes-processor')}-backfill",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "queued.max.messages.kbytes": 1024,
        "queued.min.messages": READ_BATCH,
        "fetch.max.bytes": 1024 * 1024,
        "max.partition.fetch.bytes": 512 * 1024,
        "fetch.wait.max.ms": 50,
    }


class KafkaRecordSource:
    """A `RecordSource` on a confluent-kafka Consumer; its blocking calls run on ``thread``."""

    def __init__(
        self, config: KafkaConfig, topic: str, partition: int, thread: ThreadPoolExecutor
    ) -> None:
        self._config = config
        self._topic = topic
        self._partition = partition
        self._thread = thread
        self._consumer: Consumer | None = None

    async def _call(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    async def seek(self, offset: int) -> None:
        """(Re)assign the partition at ``offset``; fetching starts from there."""
        if self._consumer is None:
            self._consumer = await self._call(lambda: Consumer(self._config))
        consumer = self._consumer
        await self._call(
            lambda: consumer.assign([TopicPartition(self._topic, self._partition, offset)])
        )

    async def read(self) -> list[ConsumedRecord]:
        """Up to `READ_BATCH` records; errors other than the broker's are not expected."""
        consumer = self._consumer
        assert consumer is not None, "seek first"
        messages = await self._call(lambda: consumer.consume(READ_BATCH, READ_TIMEOUT_SECONDS))
        return [from_message(m) for m in messages if m.error() is None]

    async def close(self) -> None:
        """Close the consumer (it holds connections and librdkafka threads)."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await self._call(consumer.close)


class Refill:
    """Hands a partition's spilled records back to their lanes, in rounds."""

    def __init__(
        self,
        partition_lanes: PartitionLanes,
        open_source: SourceFactory,
        observer: ConsumerObserver,
    ) -> None:
        self._partition_lanes = partition_lanes
        self._open_source = open_source
        self._observer = observer
        self._source: RecordSource | None = None
        self._next_read = -1
        """The offset the source returns next (-1: nowhere yet)."""
        self._ahead: list[ConsumedRecord] = []
        """The last batch read, kept for the next round (it usually starts inside it)."""
        self._task: asyncio.Task[None] | None = None
        self._woken = False

    def wake(self) -> None:
        """Start a round if a spilled lane wants records and none is running."""
        if self._partition_lanes.revoked:
            return
        if self._task is not None and not self._task.done():
            self._woken = True  # the running task looks again before it ends
            return
        if self._partition_lanes.wanting():
            self._task = asyncio.create_task(
                self._run(), name=f"refill-{self._partition_lanes.partition}"
            )

    async def close(self) -> None:
        """Stop any round and close the reader."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._close_source()

    async def _close_source(self) -> None:
        self._ahead, self._next_read = [], -1
        if self._source is not None:
            source, self._source = self._source, None
            await source.close()

    async def _run(self) -> None:
        while True:
            self._woken = False
            while not self._partition_lanes.revoked:
                wanting = self._partition_lanes.wanting()
                if not wanting:
                    break
                try:
                    await self.round(min(lane.spilled_from or 0 for lane in wanting))
                except KafkaException as exc:
                    logger.warning("re-reading spilled records failed; retrying", exc_info=exc)
                    await asyncio.sleep(ERROR_PAUSE_SECONDS)
            if not self._partition_lanes.spilled:
                # Nothing spilled: the reader's connections and threads go until needed.
                await self._close_source()
            if not self._woken or self._partition_lanes.revoked:
                return

    async def round(self, start: int) -> None:
        """Read from ``start`` to the read position, handing records to spilled lanes."""
        partition_lanes = self._partition_lanes
        records = await self._start_at(start)
        # Lanes spilled below the start are not visited: they must not take later records.
        blocked = {
            key for key, lane in partition_lanes.spilled.items() if (lane.spilled_from or 0) < start
        }
        position = start
        while not partition_lanes.revoked and position < (partition_lanes.offsets.read_to or 0):
            if not records:
                records = await self._read()
            for record in records:
                read_to = partition_lanes.offsets.read_to or 0
                if record.offset >= read_to:
                    position = read_to  # the partition's consumer has not read this far
                    break
                if record.offset < position:
                    continue
                position = record.offset + 1
                lane = partition_lanes.spilled.get(record.key or b"")
                if lane is None or lane.key in blocked or record.offset < (lane.spilled_from or 0):
                    continue
                if partition_lanes.room(lane) <= 0:
                    blocked.add(lane.key)
                    continue
                partition_lanes.hand(lane, record)
            self._ahead, records = records, []
            if not self._can_take(blocked):
                break
        if partition_lanes.revoked or position < (partition_lanes.offsets.read_to or 0):
            return
        for lane in list(partition_lanes.spilled.values()):
            if lane.key not in blocked:
                partition_lanes.caught_up(lane)

    async def _start_at(self, start: int) -> list[ConsumedRecord]:
        """Records from ``start`` already read, if the last round read past it; else seek."""
        if self._source is None:
            self._source = self._open_source(
                self._partition_lanes.topic, self._partition_lanes.partition
            )
        if self._ahead and self._ahead[0].offset <= start <= self._next_read:
            return [r for r in self._ahead if r.offset >= start]
        if start != self._next_read:
            self._ahead = []
            await self._source.seek(start)
            self._next_read = start
        return []

    async def _read(self) -> list[ConsumedRecord]:
        assert self._source is not None
        records = await self._source.read()
        if records:
            self._next_read = records[-1].offset + 1
        self._observer.backfill_read(len(records))
        return records

    def _can_take(self, blocked: set[bytes]) -> bool:
        return any(
            key not in blocked and self._partition_lanes.room(lane) > 0
            for key, lane in self._partition_lanes.spilled.items()
        )


def kafka_sources(consumer_settings: KafkaConfig, thread: ThreadPoolExecutor) -> SourceFactory:
    """A `SourceFactory` of `KafkaRecordSource` readers sharing one thread."""
    config = backfill_config(consumer_settings)

    def open_source(topic: str, partition: int) -> RecordSource:
        return KafkaRecordSource(config, topic, partition, thread)

    return open_source
