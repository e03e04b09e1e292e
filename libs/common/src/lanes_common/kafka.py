"""Kafka client factories and an asyncio-friendly producer.

librdkafka calls block, so they never run on the event loop: the producer
polls for delivery reports on its own thread and hands each result back to
the loop through a future.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from lanes_common.errors import DependencyUnavailableError, LanesError
from lanes_common.types import KafkaConfig, KafkaHeaders

logger = logging.getLogger(__name__)

# Readiness probes expect refused connections; librdkafka would log each one.
_probe_logger = logging.getLogger("lanes.kafka.probe")
_probe_logger.addHandler(logging.NullHandler())
_probe_logger.propagate = False


class ProduceError(LanesError):
    """Kafka did not acknowledge a record; the caller must not report it accepted."""


DELIVERY_TIMEOUT_MS = 30_000
"""How long a producer keeps retrying one record before it reports failure."""


def producer_config(
    bootstrap_servers: str, client_id: str, delivery_timeout_ms: int = DELIVERY_TIMEOUT_MS
) -> KafkaConfig:
    """Settings for a producer whose acknowledged records are never lost or reordered.

    Idempotence with ``acks=all`` keeps per-partition order across retries;
    ``murmur2_random`` puts a key on the same partition a Java client would.
    When a partition's leader dies, librdkafka refreshes metadata and retries
    on the new leader until ``delivery_timeout_ms`` has passed, then reports
    the record failed: a leader election shorter than that only delays the
    acknowledgement. ``acks=all`` waits for every in-sync replica; with
    ``min.insync.replicas=2`` on the topic that is never fewer than two brokers.
    """
    return {
        "bootstrap.servers": bootstrap_servers,
        "client.id": client_id,
        "enable.idempotence": True,
        "acks": "all",
        "partitioner": "murmur2_random",
        "linger.ms": 5,
        "compression.type": "lz4",
        "delivery.timeout.ms": delivery_timeout_ms,
        # A produce request waits no longer than the record may: past the delivery
        # timeout the answer would come too late to matter.
        "request.timeout.ms": min(30_000, delivery_timeout_ms),
    }


class AsyncProducer:
    """A confluent-kafka producer whose `produce` is awaited until Kafka acknowledges."""

    def __init__(self, config: KafkaConfig) -> None:
        self._producer = Producer(config)
        self._closing = threading.Event()
        self._poller = threading.Thread(target=self._poll_forever, name="kafka-producer-poll")
        self._poller.daemon = True
        self._poller.start()

    def _poll_forever(self) -> None:
        while not self._closing.is_set():
            self._producer.poll(0.1)

    async def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: KafkaHeaders | None = None,
    ) -> Message:
        """Send one record and return it once Kafka acknowledged it (``acks=all``)."""
        loop = asyncio.get_running_loop()
        acknowledged: asyncio.Future[Message] = loop.create_future()

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                loop.call_soon_threadsafe(_fail, acknowledged, ProduceError(str(err)))
            else:
                loop.call_soon_threadsafe(_succeed, acknowledged, msg)

        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=on_delivery
                )
                break
            except BufferError:
                # The local queue is full: wait for deliveries to drain it.
                await asyncio.sleep(0.01)
            except KafkaException as exc:
                raise ProduceError(str(exc)) from exc
        return await acknowledged

    async def flush(self, timeout: float = 10.0) -> int:  # noqa: ASYNC109  (librdkafka's own timeout)
        """Wait for outstanding records; returns how many are still undelivered."""
        return int(await asyncio.to_thread(self._producer.flush, timeout))

    async def close(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109  (bounds the final flush)
        """Deliver what is outstanding, then stop the poll thread."""
        remaining = await self.flush(timeout)
        if remaining:
            logger.error("producer closed with %d undelivered records", remaining)
        self._closing.set()
        await asyncio.to_thread(self._poller.join)


def _succeed(future: asyncio.Future[Message], msg: Message) -> None:
    if not future.done():
        future.set_result(msg)


def _fail(future: asyncio.Future[Message], exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)


def kafka_is_ready(bootstrap_servers: str, timeout: float = 2.0) -> bool:
    """True when a broker answers a metadata request."""
    probe_config: KafkaConfig = {"bootstrap.servers": bootstrap_servers, "logger": _probe_logger}
    admin = AdminClient(probe_config)
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException:
        return False
    return bool(metadata.brokers)


def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str],
    partitions: int,
    replication_factor: int = 1,
    min_insync_replicas: int = 1,
    timeout: float = 30.0,
) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are.

    ``min_insync_replicas`` is how many copies an ``acks=all`` write needs
    before Kafka acknowledges it (production: 2 of 3 replicas).
    """
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    new_topics = [
        NewTopic(
            t,
            num_partitions=partitions,
            replication_factor=replication_factor,
            config={"min.insync.replicas": str(min_insync_replicas)},
        )
        for t in topics
    ]
    for topic, future in admin.create_topics(new_topics, request_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise DependencyUnavailableError(f"cannot create topic {topic}: {exc}") from exc
