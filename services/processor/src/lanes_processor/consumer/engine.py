"""The consume loop: polls Kafka, feeds partition lanes, commits, rebalances, drains.

Every consumer call runs on the `KafkaThread`; rebalance callbacks run there
too and hand their work to the event loop. What an operator watches (held
records, commits, rebalances, lag) is reported to a `ConsumerObserver`.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from lanes_common.types import KafkaConfig, PartitionId
from lanes_processor.consumer.backfill import kafka_sources
from lanes_processor.consumer.backpressure import HeldBounds, PartitionLoad, decide_pauses
from lanes_processor.consumer.group_consumer import KafkaThread, RebalanceStuckError
from lanes_processor.consumer.lag import LAG_INTERVAL_SECONDS, report_lag_periodically
from lanes_processor.consumer.lanes import PartitionLanes, RunRecord
from lanes_processor.consumer.observers import ConsumerObserver
from lanes_processor.consumer.replayed import FinishedLookup, replay_zone_end
from lanes_processor.records import from_message

logger = logging.getLogger(__name__)

POLL_BATCH = 500
POLL_TIMEOUT_SECONDS = 0.1


class ProcessorEngine:
    """One replica's consumer: bounded, key-ordered, and committing only finished work."""

    def __init__(
        self,
        consumer_settings: KafkaConfig,
        topic: str,
        run_record: RunRecord,
        *,
        by_key: bool = True,
        bounds: HeldBounds | None = None,
        finished_lookup: FinishedLookup | None = None,
        commit_interval: float = 1.0,
        drain_timeout: float = 20.0,
        lag_interval: float = LAG_INTERVAL_SECONDS,
        observer: ConsumerObserver | None = None,
    ) -> None:
        self._consumer_settings = consumer_settings
        self._topic = topic
        self._run_record = run_record
        self._by_key = by_key
        self._bounds = bounds or HeldBounds(per_user=100, per_partition=1_000, total=5_000)
        self._commit_interval = commit_interval
        self._drain_timeout = drain_timeout
        self._lag_interval = lag_interval
        self._partitions: dict[PartitionId, PartitionLanes] = {}
        self._paused: set[PartitionId] = set()
        self._observer = observer or ConsumerObserver()
        self._kafka = KafkaThread()
        # Spilled records are read again on a thread of their own: a slow re-read
        # never delays the group consumer's polls (and so its heartbeats).
        self._backfill_thread = ThreadPoolExecutor(1, thread_name_prefix="kafka-backfill")
        self._open_source = kafka_sources(consumer_settings, self._backfill_thread)
        self._finished_lookup = finished_lookup
        self._consumer: Consumer | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, then drain, commit and close."""
        self._consumer = await self._kafka.call(Consumer, self._consumer_settings)
        await self._kafka.call(
            self._consumer.subscribe,
            [self._topic],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        committer = asyncio.create_task(self._commit_periodically(), name="committer")
        lag_reporter = asyncio.create_task(
            report_lag_periodically(
                self._kafka, self._consumer, self._partitions, self._observer, self._lag_interval
            ),
            name="lag-reporter",
        )
        try:
            while not stop.is_set():
                try:
                    messages = await self._kafka.call(
                        self._consumer.consume, POLL_BATCH, POLL_TIMEOUT_SECONDS
                    )
                except KafkaException as exc:
                    logger.error("consume failed; backing off", exc_info=exc)
                    await asyncio.sleep(1.0)
                    continue
                for message in messages:
                    self._dispatch(message)
                await self._apply_backpressure()
        finally:
            committer.cancel()
            lag_reporter.cancel()
            await asyncio.gather(committer, lag_reporter, return_exceptions=True)
            await self._shutdown()

    def _dispatch(self, message: Message) -> None:
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                logger.warning("consumer error", extra={"error": str(error)})
            return
        partition_lanes = self._partitions.get((message.topic() or "", message.partition() or 0))
        if partition_lanes is None:
            # Fetched before a revocation we already handled; its next owner reads it.
            return
        partition_lanes.add(from_message(message))

    async def _apply_backpressure(self) -> None:
        """Pause each partition at its own bound; resume it once drained to half of it."""
        assert self._consumer is not None
        bound = self._bounds.partition_bound(len(self._partitions))
        loads = {}
        for partition_id, partition_lanes in self._partitions.items():
            partition_lanes.bound = bound
            loads[partition_id] = PartitionLoad(partition_lanes.held, partition_lanes.offsets.span)
        decision = decide_pauses(loads, self._paused, self._bounds)
        if decision.pause:
            pause = [TopicPartition(t, p) for t, p in decision.pause]
            await self._kafka.call(self._consumer.pause, pause)
            self._paused |= decision.pause
        if decision.resume:
            resume = [TopicPartition(t, p) for t, p in decision.resume]
            await self._kafka.call(self._consumer.resume, resume)
            self._paused -= decision.resume
        self._observer.holding(sum(load.held for load in loads.values()), len(self._paused))

    def _committable(self, ids: list[PartitionId] | None = None) -> list[TopicPartition]:
        chosen = (
            self._partitions
            if ids is None
            else {i: self._partitions[i] for i in ids if i in self._partitions}
        )
        offsets = []
        for (topic, partition), partition_lanes in chosen.items():
            offset = partition_lanes.offsets.commit_contiguous_offsets()
            if offset is not None:
                offsets.append(TopicPartition(topic, partition, offset))
        return offsets

    def _commit_now(self, offsets: list[TopicPartition]) -> bool:
        """On the Kafka thread: commit synchronously; True when Kafka accepted it."""
        assert self._consumer is not None
        # A periodic commit queued behind a revocation must not rewind the
        # partition's offset for its new owner: commit only what is still ours.
        offsets = [tp for tp in offsets if (tp.topic, tp.partition) in self._partitions]
        if not offsets:
            return True
        try:
            with self._observer.committing():
                self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            logger.warning("offset commit failed", extra={"error": str(exc)})
            return False
        return True

    def _mark_committed(self, offsets: list[TopicPartition]) -> None:
        for tp in offsets:
            partition_lanes = self._partitions.get((tp.topic, tp.partition))
            if partition_lanes is not None:
                partition_lanes.offsets.committed(tp.offset)

    async def _commit_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._commit_interval)
            offsets = self._committable()
            if not offsets:
                continue
            committed: bool = await self._kafka.call(self._commit_now, offsets)
            if committed:
                self._mark_committed(offsets)

    # Rebalance callbacks: called by librdkafka on the Kafka thread, inside consume/close.

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._observer.rebalanced("assign")
        logger.info("partitions assigned", extra={"partitions": [p.partition for p in partitions]})
        replay_until = {
            (tp.topic, tp.partition): replay_zone_end(consumer, tp) for tp in partitions
        }

        async def assign() -> None:
            for tp in partitions:
                self._partitions[(tp.topic, tp.partition)] = PartitionLanes(
                    tp.topic,
                    tp.partition,
                    self._run_record,
                    self._by_key,
                    per_user=self._bounds.per_user,
                    bound=self._bounds.partition_bound(len(self._partitions) + len(partitions)),
                    open_source=self._open_source,
                    finished_lookup=self._finished_lookup,
                    replay_until=replay_until[(tp.topic, tp.partition)],
                    observer=self._observer,
                )
            self._observer.owning(len(self._partitions))

        self._kafka.on_loop(assign, timeout=10)

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._observer.rebalanced("revoke")
        ids = [(tp.topic, tp.partition) for tp in partitions]
        logger.info("partitions revoked; draining", extra={"partitions": [p for _, p in ids]})
        try:
            offsets = self._kafka.on_loop(
                partial(self._release, ids), timeout=self._drain_timeout + 10
            )
            # Still on the Kafka thread, still owning the partitions: commit what is done.
            self._commit_now(offsets)
            self._kafka.on_loop(partial(self._forget, ids), timeout=10)
        except RebalanceStuckError:
            # The event loop did not answer (a handler blocking it?). Committing
            # nothing is safe: the new owner gets every unfinished record again.
            logger.error("revocation overran its deadline; nothing committed", exc_info=True)

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._observer.rebalanced("lost")
        ids = [(tp.topic, tp.partition) for tp in partitions]
        logger.warning(
            "partitions lost; abandoning their work", extra={"partitions": [p for _, p in ids]}
        )

        async def abandon() -> None:
            for i in ids:
                partition_lanes = self._partitions.get(i)
                if partition_lanes is not None:
                    await partition_lanes.abandon()
            await self._forget(ids)

        self._kafka.on_loop(abandon, timeout=10)

    async def _release(self, ids: list[PartitionId]) -> list[TopicPartition]:
        """Drain the given partitions within the deadline; return their committable offsets."""
        chosen = [self._partitions[i] for i in ids if i in self._partitions]
        await asyncio.gather(
            *(partition_lanes.release(self._drain_timeout) for partition_lanes in chosen)
        )
        return self._committable(ids)

    async def _forget(self, ids: list[PartitionId]) -> None:
        for i in ids:
            self._partitions.pop(i, None)
            self._paused.discard(i)
            self._observer.released(i)
        self._observer.owning(len(self._partitions))

    async def _shutdown(self) -> None:
        """Drain everything within the deadline, commit, and leave the group."""
        assert self._consumer is not None
        ids = list(self._partitions)
        offsets = await self._release(ids)
        await self._kafka.call(self._commit_now, offsets)
        await self._forget(ids)
        await self._kafka.call(self._consumer.close)
        self._kafka.shutdown()
        self._backfill_thread.shutdown(wait=True)
        logger.info("consumer closed")
