"""Consumer lag: how far each owned partition's commit point is behind the partition's end.

Each replica reports the partitions it owns, every few seconds, so the lag
of the group is the sum over replicas and a partition that moved is reported
by its new owner only (`ConsumerObserver.released` drops the old owner's).
Both offsets are asked of Kafka on the consumer's own thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection

from confluent_kafka import Consumer, KafkaException, TopicPartition

from lanes_common.types import PartitionId
from lanes_processor.consumer.group_consumer import WATERMARK_TIMEOUT_SECONDS, KafkaThread
from lanes_processor.consumer.observers import ConsumerObserver

logger = logging.getLogger(__name__)

LAG_INTERVAL_SECONDS = 5.0


def read_lag(consumer: Consumer, partitions: list[TopicPartition]) -> dict[PartitionId, int]:
    """On the Kafka thread: records between each partition's committed offset and its end."""
    committed = consumer.committed(partitions, timeout=WATERMARK_TIMEOUT_SECONDS)
    lags: dict[PartitionId, int] = {}
    for tp in committed:
        low, high = consumer.get_watermark_offsets(
            TopicPartition(tp.topic, tp.partition), timeout=WATERMARK_TIMEOUT_SECONDS
        )
        # No commit yet: everything still in the log is behind us.
        start = tp.offset if tp.offset >= 0 else low
        lags[(tp.topic, tp.partition)] = max(0, high - start)
    return lags


async def report_lag_periodically(
    kafka: KafkaThread,
    consumer: Consumer,
    owned: Collection[PartitionId],
    observer: ConsumerObserver,
    interval: float = LAG_INTERVAL_SECONDS,
) -> None:
    """Every ``interval``, report the lag of the partitions in ``owned`` (a live view)."""
    while True:
        await asyncio.sleep(interval)
        partitions = [TopicPartition(t, p) for t, p in owned]
        if not partitions:
            continue
        try:
            lags = await kafka.call(read_lag, consumer, partitions)
        except KafkaException as exc:
            logger.warning("reading consumer lag failed", extra={"error": str(exc)})
            continue
        for partition_id, lag in lags.items():
            # Revoked while we asked: its new owner reports it now.
            if partition_id in owned:
                observer.lagging(partition_id, lag)
