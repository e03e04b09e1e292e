"""The status event as it travels on the status topic (``lanes.status``): a public contract.

Every state change that Lanes records durably is published here afterwards,
keyed by user id, so one user's events keep their order on one partition.
Delivery is at-least-once: a reader drops duplicates by ``(request_id,
state, attempts)``. The schema version is in the ``lanes-schema-version``
header and the value; readers skip versions they do not know.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from datetime import datetime

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from pydantic import Field, ValidationError

from lanes_common.errors import LanesError
from lanes_common.kafka import AsyncProducer, ProduceError, ensure_topics
from lanes_common.messages import HEADER_REQUEST_ID, HEADER_SCHEMA_VERSION, UserKeyedRecord
from lanes_common.states import RequestState
from lanes_common.telemetry.propagation import inject_trace_context
from lanes_common.types import KafkaHeaders, MongoDocument

logger = logging.getLogger(__name__)

STATUS_SCHEMA_VERSION = 1
HEADER_STATE = "lanes-state"


class StatusEventDecodeError(LanesError):
    """A record on the status topic is not a status event this version understands."""


class StatusEvent(UserKeyedRecord):
    """One recorded state change of one request."""

    schema_version: int = STATUS_SCHEMA_VERSION
    request_id: str
    user_id: str
    type: str
    state: RequestState
    attempts: int = Field(ge=0)
    occurred_at: datetime = Field(description="When the state change was written.")
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error_code: str | None = None

    def headers(self) -> KafkaHeaders:
        """Schema version, request id and state, readable without decoding the value."""
        return [
            (HEADER_SCHEMA_VERSION, str(self.schema_version).encode()),
            (HEADER_REQUEST_ID, self.request_id.encode()),
            (HEADER_STATE, self.state.value.encode()),
        ]

    @classmethod
    def decode(cls, value: bytes | None) -> StatusEvent:
        """Parse a record value; `StatusEventDecodeError` when it is not a known event."""
        if value is None:
            raise StatusEventDecodeError("record has no value")
        try:
            event = cls.model_validate(json.loads(value))
        except (ValueError, ValidationError) as exc:
            raise StatusEventDecodeError(f"not a status event: {exc}") from exc
        if event.schema_version != STATUS_SCHEMA_VERSION:
            raise StatusEventDecodeError(f"unknown schema version {event.schema_version}")
        return event

    @classmethod
    def from_document(cls, document: MongoDocument) -> StatusEvent:
        """The event that a stored status document stands for (its current state)."""
        error = document.get("error") or {}
        return cls(
            request_id=document["_id"],
            user_id=document["user_id"],
            type=document["type"],
            state=RequestState(document["state"]),
            attempts=int(document.get("attempts") or 0),
            occurred_at=document.get("updated_at") or document["enqueued_at"],
            enqueued_at=document.get("enqueued_at"),
            started_at=document.get("started_at"),
            finished_at=document.get("finished_at"),
            error_code=error.get("code") if isinstance(error, dict) else None,
        )

    def supersedes(self, other: StatusEvent) -> bool:
        """Whether this event is news to someone who has seen ``other`` (same request)."""
        if self.state.rank != other.state.rank:
            return self.state.rank > other.state.rank
        if self.state is RequestState.PROCESSING and other.state is RequestState.PROCESSING:
            return self.attempts > other.attempts
        return False


class StatusPublisher:
    """Publishes status events after their write is durable; never fails the caller.

    The event is news about a write that already happened, so a Kafka outage
    must not undo or delay the write's effect: a failed publish is logged (not
    retried), and readers that need certainty read the store.
    """

    def __init__(self, producer: AsyncProducer, topic: str) -> None:
        # The base class's send: a subclass's metrics count requests, not events.
        self._produce = functools.partial(AsyncProducer.produce, producer)
        self._topic = topic
        self._pending: set[asyncio.Task[None]] = set()

    async def publish(self, event: StatusEvent) -> None:
        """Send ``event`` and wait until Kafka acknowledged it (or gave up)."""
        try:
            await self._produce(
                self._topic,
                event.encode(),
                key=event.key(),
                headers=inject_trace_context(event.headers()),
            )
        except ProduceError as exc:
            logger.warning(
                "status event not published",
                extra={"request_id": event.request_id, "state": event.state, "error": str(exc)},
            )

    def publish_soon(self, event: StatusEvent) -> None:
        """Send ``event`` without waiting: the producer keeps it in order with later ones."""
        task = asyncio.create_task(self.publish(event), name="status-event")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)


def ensure_status_topic(bootstrap_servers: str, topic: str, like_topic: str) -> None:
    """Create the status topic if missing, with as many partitions as ``like_topic``.

    Deployments create it with the other topics; this keeps a stack that
    predates the status topic working. A failure is logged: events are then
    not published, and nothing else stops.
    """
    try:
        admin = AdminClient({"bootstrap.servers": bootstrap_servers})
        metadata = admin.list_topics(timeout=10.0)
        if topic in metadata.topics:
            return
        like = metadata.topics.get(like_topic)
        partitions = len(like.partitions) if like is not None and like.partitions else 12
        ensure_topics(bootstrap_servers, [topic], partitions)
    except (KafkaException, LanesError) as exc:
        logger.warning("cannot create status topic %s: %s", topic, exc)
