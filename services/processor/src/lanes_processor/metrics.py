"""The processor's Prometheus metrics, and the observers that record the consumer's hooks."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime

from confluent_kafka import KafkaException
from prometheus_client import Counter, Gauge, Histogram

from lanes_common.messages import RequestMessage
from lanes_common.states import RequestState
from lanes_common.types import PartitionId
from lanes_processor.consumer.observers import ConsumerObserver, RunObserver

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

CONSUMED = Counter("lanes_processor_consumed_total", "Records consumed.", ["type"])
FINISHED = Counter(
    "lanes_processor_finished_total", "Requests that reached a terminal state.", ["type", "state"]
)
RETRIED = Counter("lanes_processor_retries_total", "Attempts retried after a failure.", ["type"])
SKIPPED = Counter(
    "lanes_processor_skipped_total", "Records skipped: already finished or cancelled.", ["type"]
)
PROCESSING_SECONDS = Histogram(
    "lanes_processor_processing_seconds",
    "Handler time per attempt.",
    ["type"],
    buckets=LATENCY_BUCKETS,
)
END_TO_END_SECONDS = Histogram(
    "lanes_processor_end_to_end_seconds",
    "Enqueue to terminal state.",
    ["type"],
    buckets=LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge("lanes_processor_in_flight", "Requests being handled now.")
BUFFERED = Gauge("lanes_processor_buffered", "Records held in memory and not yet finished.")
SPILLED_USERS = Gauge(
    "lanes_processor_spilled_users", "Users with records beyond their bound, left in Kafka."
)
REPLAY_SKIPPED = Counter(
    "lanes_processor_replay_skipped_total",
    "Records read again after a restart or rebalance, found terminal in one batch lookup.",
)
BACKFILL_READ = Counter(
    "lanes_processor_backfill_read_total", "Records read again from Kafka for spilled users."
)
PAUSED_PARTITIONS = Gauge("lanes_processor_paused_partitions", "Partitions paused by backpressure.")
ASSIGNED_PARTITIONS = Gauge("lanes_processor_assigned_partitions", "Partitions this replica owns.")
COMMITS = Counter("lanes_processor_commits_total", "Offset commits.", ["result"])
COMMIT_SECONDS = Histogram("lanes_processor_commit_seconds", "Offset commit latency.")
REBALANCES = Counter("lanes_processor_rebalances_total", "Partition assignment changes.", ["kind"])
CONSUMER_LAG = Gauge(
    "lanes_processor_consumer_lag", "Records behind the partition end.", ["partition"]
)

# Clients choose request types; labelling metrics with unserved ones would let
# them create unbounded series.
UNKNOWN_TYPE_LABEL = "unknown"


class RunMetrics(RunObserver):
    """The runner's hooks as metrics, labelled by request type."""

    def __init__(self, served_types: Collection[str]) -> None:
        """``served_types``: the types with a handler; any other shares one label."""
        self._served_types = frozenset(served_types)

    def _type(self, message: RequestMessage) -> str:
        return message.type if message.type in self._served_types else UNKNOWN_TYPE_LABEL

    def consumed(self, message: RequestMessage) -> None:
        """Count the record."""
        CONSUMED.labels(self._type(message)).inc()

    def attempting(self) -> AbstractContextManager[object]:
        """Count the attempt in flight while it runs."""
        return IN_FLIGHT.track_inprogress()

    def handling(self, message: RequestMessage) -> AbstractContextManager[object]:
        """Time the handler call."""
        return PROCESSING_SECONDS.labels(self._type(message)).time()

    def skipped(self, message: RequestMessage) -> None:
        """Count the skip."""
        SKIPPED.labels(self._type(message)).inc()

    def retrying(self, message: RequestMessage) -> None:
        """Count the retry."""
        RETRIED.labels(self._type(message)).inc()

    def finished(self, message: RequestMessage, state: RequestState, at: datetime) -> None:
        """Count the outcome and observe the time since enqueue."""
        request_type = self._type(message)
        FINISHED.labels(request_type, state.value).inc()
        END_TO_END_SECONDS.labels(request_type).observe(
            max(0.0, (at - message.enqueued_at).total_seconds())
        )


class ConsumerMetrics(ConsumerObserver):
    """The engine's hooks as metrics."""

    def holding(self, records: int, paused_partitions: int) -> None:
        """Set the held-records and paused-partitions gauges."""
        BUFFERED.set(records)
        PAUSED_PARTITIONS.set(paused_partitions)

    @contextmanager
    def committing(self) -> Iterator[None]:
        """Count the commit by result; time the ones Kafka accepted."""
        started = time.perf_counter()
        try:
            yield
        except KafkaException:
            COMMITS.labels("error").inc()
            raise
        COMMITS.labels("ok").inc()
        COMMIT_SECONDS.observe(time.perf_counter() - started)

    def rebalanced(self, kind: str) -> None:
        """Count the rebalance by kind."""
        REBALANCES.labels(kind).inc()

    def owning(self, partitions: int) -> None:
        """Set the assigned-partitions gauge."""
        ASSIGNED_PARTITIONS.set(partitions)

    def lagging(self, partition: PartitionId, records: int) -> None:
        """Set the partition's lag."""
        CONSUMER_LAG.labels(str(partition[1])).set(records)

    def released(self, partition: PartitionId) -> None:
        """Drop the partition's lag series: only its owner reports it."""
        with suppress(KeyError):
            CONSUMER_LAG.remove(str(partition[1]))

    def spilled(self, users: int) -> None:
        """Move the spilled-users gauge."""
        SPILLED_USERS.inc(users)

    def replay_skipped(self) -> None:
        """Count the record skipped on replay."""
        REPLAY_SKIPPED.inc()

    def backfill_read(self, records: int) -> None:
        """Count the records read again."""
        BACKFILL_READ.inc(records)
