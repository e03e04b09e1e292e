"""Accepting a request: Kafka first (the source of truth), then the status view."""

from __future__ import annotations

import logging

from pydantic import JsonValue
from pymongo.errors import PyMongoError

from lanes_common.documents import encode_json_value
from lanes_common.kafka import AsyncProducer, ProduceError
from lanes_common.messages import RequestMessage, new_request_id, utc_now
from lanes_gateway.errors import EnqueueUnavailableError
from lanes_gateway.queued_inserts import QueuedInserts
from lanes_gateway.store import queued_document

logger = logging.getLogger(__name__)


async def enqueue_request(
    producer: AsyncProducer,
    inserts: QueuedInserts,
    topic: str,
    user_id: str,
    request_type: str,
    payload: JsonValue,
) -> RequestMessage:
    """Produce a new request keyed by user and return it once Kafka acknowledged it.

    Raises `EnqueueUnavailableError` when Kafka did not acknowledge (see
    `produce_request`).
    """
    message = RequestMessage(
        id=new_request_id(),
        user_id=user_id,
        type=request_type,
        payload=payload,
        enqueued_at=utc_now(),
    )
    return await produce_request(producer, inserts, topic, message)


async def produce_request(
    producer: AsyncProducer, inserts: QueuedInserts, topic: str, message: RequestMessage
) -> RequestMessage:
    """Produce ``message`` keyed by its user and return it once Kafka acknowledged it.

    Raises `EnqueueUnavailableError` when Kafka did not acknowledge: then
    nothing was accepted and nothing is written. After the acknowledgement the
    request is accepted whatever happens to the status write.
    """
    # Encoded before producing, so nothing can fail between the ack and the write.
    payload_json = encode_json_value(message.payload)
    try:
        record = await producer.produce(
            topic, message.encode(), key=message.key(), headers=message.headers()
        )
    except ProduceError as exc:
        logger.warning("kafka did not acknowledge request %s: %s", message.id, exc)
        raise EnqueueUnavailableError("the request queue is unavailable; try again") from exc
    partition, offset = record.partition(), record.offset()
    if partition is None or offset is None or offset < 0:
        # Accepted all the same; without its offset the processor writes the status.
        logger.warning("kafka acknowledged request %s without an offset", message.id)
        return message
    document = queued_document(message, payload_json, partition, offset, utc_now())
    try:
        # False: the processor consumed it first and already materialised the status.
        await inserts.insert(document)
    except PyMongoError:
        # Kafka holds the request; the processor writes the status when it consumes it.
        logger.exception("status write failed after kafka accepted request %s", message.id)
    return message
