"""The one reader of the status topic per gateway: a thread that hands events to the hub.

It joins no consumer group (every replica reads every partition) and
commits nothing. On start it goes back one resume window in time
(``offsets_for_times``), so a stream resuming on this replica after another
one went away still finds what it missed, and the ETA has recent durations.
librdkafka blocks, so it never runs on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from datetime import timedelta

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from lanes_common.status_events import StatusEvent, StatusEventDecodeError
from lanes_gateway.events.hub import StatusHub

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
TOPIC_RETRY_SECONDS = 2.0


class StatusTopicReader:
    """Reads every partition of the status topic from one window back, forever."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        hub: StatusHub,
        window: timedelta,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._topic = topic
        self._hub = hub
        self._window = window
        self._loop = loop
        self._stopping = threading.Event()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                # Required by the client; no group is joined (assign, never subscribe).
                "group.id": f"lanes-gateway-status-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "enable.partition.eof": False,
                # Events are small and wanted at once: answer a fetch as soon as one arrives.
                "fetch.wait.max.ms": 100,
            }
        )
        self._thread = threading.Thread(target=self._run, name="status-topic-reader", daemon=True)

    def start(self) -> None:
        """Start reading on the reader's own thread."""
        self._thread.start()

    async def close(self) -> None:
        """Stop reading and close the consumer."""
        self._stopping.set()
        await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        try:
            if self._assign():
                self._read()
        finally:
            self._consumer.close()

    def _assign(self) -> bool:
        """Assign every partition from one window back; waits for the topic to exist."""
        while not self._stopping.is_set():
            try:
                metadata = self._consumer.list_topics(self._topic, timeout=5.0)
                topic = metadata.topics.get(self._topic)
                if topic is not None and topic.error is None and topic.partitions:
                    since_ms = int((time.time() - self._window.total_seconds()) * 1000)
                    wanted = [TopicPartition(self._topic, p, since_ms) for p in topic.partitions]
                    found = self._consumer.offsets_for_times(wanted, timeout=10.0)
                    starts = [self._start_offset(tp) for tp in found]
                    self._consumer.assign(starts)
                    for tp in starts:
                        self._loop.call_soon_threadsafe(
                            self._hub.start_partition, tp.partition, tp.offset
                        )
                    logger.info("reading status topic", extra={"topic": self._topic})
                    return True
            except KafkaException as exc:
                logger.warning("status topic not readable yet", exc_info=exc)
            self._stopping.wait(TOPIC_RETRY_SECONDS)
        return False

    def _start_offset(self, found: TopicPartition) -> TopicPartition:
        if found.offset >= 0:
            return TopicPartition(self._topic, found.partition, found.offset)
        # Nothing newer than the window: start at the end.
        _, high = self._consumer.get_watermark_offsets(
            TopicPartition(self._topic, found.partition), timeout=10.0
        )
        return TopicPartition(self._topic, found.partition, high)

    def _read(self) -> None:
        while not self._stopping.is_set():
            try:
                record = self._consumer.poll(POLL_SECONDS)
            except KafkaException as exc:
                logger.warning("status topic poll failed", exc_info=exc)
                self._stopping.wait(TOPIC_RETRY_SECONDS)
                continue
            if record is None:
                continue
            error = record.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    logger.warning("status topic error: %s", error)
                continue
            try:
                event = StatusEvent.decode(record.value())
            except StatusEventDecodeError as exc:
                logger.warning("skipped a status record", extra={"error": str(exc)})
                continue
            partition, offset = record.partition(), record.offset()
            if partition is None or offset is None:
                continue
            self._loop.call_soon_threadsafe(self._hub.deliver, partition, offset, event)
