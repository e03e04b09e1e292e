"""The gateway's Prometheus metrics (the HTTP ones are lanes_common's).

Enqueues and produce latency are measured around the Kafka producer
(`lanes_gateway.telemetry.TracedProducer`), so every path that accepts a
request counts, whatever route it came by. Idempotent replays and quota
refusals are read off the answers of the enqueue routes (`record_answer`).
Open event streams are read off the status hub when Prometheus scrapes.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from lanes_common.telemetry.http import HttpAnswer
from lanes_common.telemetry.metrics import BoundedLabel

PRODUCE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
MAX_REQUEST_TYPES = 64
ENQUEUE_ROUTES = frozenset({"/v1/requests", "/enqueue", "/api/enqueue"})
REPLAYED_HEADER = "idempotent-replayed"

ENQUEUED = Counter(
    "lanes_gateway_enqueued",
    "Requests offered to Kafka, by type and result (accepted, unavailable).",
    ["type", "result"],
)
PRODUCE_SECONDS = Histogram(
    "lanes_gateway_kafka_produce_seconds",
    "Time from producing a request to Kafka's acknowledgement (acks=all), failures included.",
    buckets=PRODUCE_BUCKETS,
)
PRODUCE_ERRORS = Counter("lanes_gateway_kafka_produce_errors", "Records Kafka did not acknowledge.")
IDEMPOTENT_REPLAYS = Counter(
    "lanes_gateway_idempotent_replays",
    "Enqueues answered with an earlier request because their Idempotency-Key was seen before.",
)
QUOTA_REJECTIONS = Counter(
    "lanes_gateway_quota_rejections",
    "Enqueues refused (429) because the user already had the most queued requests allowed.",
)

EVENT_STREAMS = Gauge(
    "lanes_gateway_event_streams",
    "Event streams (server-sent events) open on this gateway.",
)

request_type_label = BoundedLabel(MAX_REQUEST_TYPES)
"""Request types are any name a client picks: only the first few become label values."""


def record_answer(answer: HttpAnswer) -> None:
    """Count idempotent replays and quota refusals among the enqueue routes' answers."""
    if answer.method != "POST" or answer.route not in ENQUEUE_ROUTES:
        return
    if answer.status == 429:
        QUOTA_REJECTIONS.inc()
    elif answer.headers.get(REPLAYED_HEADER, "").lower() == "true":
        IDEMPOTENT_REPLAYS.inc()
