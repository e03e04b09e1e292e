"""The processor's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
