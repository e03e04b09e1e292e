"""Accepting a request: the one operation every enqueuing route calls.

Routes translate HTTP into a `NewRequest` and the `Enqueued` answer back;
`Enqueuer.enqueue` owns the steps and their order. Kafka is the source of
truth: a request is accepted when Kafka acknowledged it, and the status
view written after that can only help.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydantic import JsonValue
from pymongo.errors import PyMongoError

from lanes_common.documents import encode_json_value
from lanes_common.kafka import AsyncProducer, ProduceError
from lanes_common.messages import RequestMessage, new_request_id, utc_now
from lanes_common.status_events import StatusPublisher
from lanes_gateway.errors import EnqueueUnavailableError
from lanes_gateway.events.published import queued_event
from lanes_gateway.idempotency import ClaimedKey, ClaimStatus, IdempotencyKeys
from lanes_gateway.payloads import check_payload
from lanes_gateway.queued_inserts import QueuedInserts
from lanes_gateway.quota import Quota
from lanes_gateway.store import queued_document

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NewRequest:
    """A request to enqueue, as a route read it: whose, what, and its ``Idempotency-Key``."""

    user_id: str
    type: str
    payload: JsonValue
    idempotency_key: str | None = None

    def message(self) -> RequestMessage:
        """The message to produce for it, under a new request id."""
        return RequestMessage(
            id=new_request_id(),
            user_id=self.user_id,
            type=self.type,
            payload=self.payload,
            enqueued_at=utc_now(),
            idempotency_key=self.idempotency_key,
        )


@dataclass(frozen=True, slots=True)
class Enqueued:
    """The accepted request; ``replayed`` when an earlier call with its key accepted it."""

    message: RequestMessage
    replayed: bool


@dataclass(frozen=True, slots=True)
class Enqueuer:
    """Accepts requests; everything it needs, wired in the lifespan."""

    quota: Quota
    keys: IdempotencyKeys
    producer: AsyncProducer
    inserts: QueuedInserts
    topic: str
    status_publisher: StatusPublisher

    async def enqueue(self, request: NewRequest) -> Enqueued:
        """Accept ``request`` (once per ``Idempotency-Key``), in this order.

        0. Check the payload against its type (`check_payload`), before any write.
        1. Claim the key, if one is given (`IdempotencyKeys.claim`). A key whose
           request was accepted answers that request here, before the quota, so
           a retry of an accepted request is never refused. A claim taken over
           from an owner that stopped before Kafka's acknowledgement resends
           its message and skips the quota, which counted it then.
        2. Reserve a place in the user's quota; a refusal releases the claim,
           so a refused request leaves no lease behind and its key stays free.
        3. Produce to Kafka keyed by user and wait for the acknowledgement; a
           refusal ends the claim's lease, so a retry resends the same message.
        4. Write the ``queued`` status document.
        5. Publish the ``queued`` status event, without waiting for it.

        Steps 3 to 5 are `accept`, which a replay (`lanes_gateway.replays`) calls too.

        Raises `InvalidPayloadError`, `QuotaExceededError`,
        `EnqueueUnavailableError` and the idempotency errors of
        `IdempotencyKeys.claim`.
        """
        check_payload(request.type, request.payload)
        message = request.message()
        claimed: ClaimedKey | None = None
        if request.idempotency_key is not None:
            claimed = await self.keys.claim(request.idempotency_key, message)
            message = claimed.claim.message
            if claimed.status is ClaimStatus.ACCEPTED:
                return Enqueued(message, replayed=True)
        if claimed is None or claimed.status is ClaimStatus.NEW:
            await self._reserve_place(message.user_id, claimed)
        try:
            await self.accept(message)
        except EnqueueUnavailableError:
            if claimed is not None:
                await self.keys.end_lease(claimed)
            raise
        return Enqueued(message, replayed=False)

    async def accept(self, message: RequestMessage) -> None:
        """Produce ``message`` keyed by its user, then record and announce it as queued.

        Raises `EnqueueUnavailableError` when Kafka did not acknowledge: then the
        request is not accepted (though Kafka may have stored the record) and no
        status is written. After the acknowledgement the request is accepted
        whatever happens to the status write.
        """
        # Encoded before producing, so nothing can fail between the ack and the write.
        payload_json = encode_json_value(message.payload)
        try:
            record = await self.producer.produce(
                self.topic, message.encode(), key=message.key(), headers=message.headers()
            )
        except ProduceError as exc:
            logger.warning("kafka did not acknowledge request %s: %s", message.id, exc)
            raise EnqueueUnavailableError("the request queue is unavailable; try again") from exc
        partition, offset = record.partition(), record.offset()
        if partition is None or offset is None or offset < 0:
            # Accepted all the same; without its offset the processor writes the status.
            logger.warning("kafka acknowledged request %s without an offset", message.id)
        else:
            await self._write_queued(message, payload_json, partition, offset)
        self.status_publisher.publish_soon(queued_event(message, utc_now()))

    async def _write_queued(
        self, message: RequestMessage, payload_json: str, partition: int, offset: int
    ) -> None:
        document = queued_document(message, payload_json, partition, offset, utc_now())
        try:
            # False: the processor consumed it first and already materialised the status.
            await self.inserts.insert(document)
        except PyMongoError:
            # Kafka holds the request; the processor writes the status when it consumes it.
            logger.exception("status write failed after kafka accepted request %s", message.id)

    async def _reserve_place(self, user_id: str, claimed: ClaimedKey | None) -> None:
        try:
            await self.quota.reserve(user_id)
        except BaseException:
            if claimed is not None:
                # Nothing was produced: the key is free for a later try.
                await self.keys.release(claimed)
            raise
