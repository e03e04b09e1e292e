"""Status events from the processor: each transition it records is published afterwards.

Published only once the store confirmed the write (the transition's future
resolved), so an event never announces a state the store does not hold. A
``processing`` event is sent without waiting (the idempotent producer keeps
it ahead of later ones); a terminal event is awaited before the request's
run ends, so its offset is committed only after Kafka has the event. If the
processor dies between the write and the event, the request is consumed
again, its write is found superseded, and the event for the state the
store holds is published then: every stream still sees the end.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from lanes_common.documents import REQUESTS_COLLECTION
from lanes_common.messages import RequestMessage, utc_now
from lanes_common.states import RequestState
from lanes_common.status_events import StatusEvent, StatusPublisher
from lanes_common.types import MongoDocument
from lanes_processor.consumer.replayed import FinishedLookup
from lanes_processor.store import WriteOutcome
from lanes_processor.telemetry import TracedStatusStore

# Each request's attempt number and start, kept from its attempt's start for its terminal
# event; bounded because a revoked partition's requests never finish here.
MAX_REMEMBERED = 100_000


class PublishingStatusStore(TracedStatusStore):
    """A status store that publishes a status event after each transition it applied."""

    def __init__(
        self, database: AsyncDatabase[MongoDocument], publisher: StatusPublisher, **kwargs: Any
    ) -> None:
        super().__init__(database, **kwargs)
        self._publisher = publisher
        self._started: OrderedDict[str, StatusEvent] = OrderedDict()
        self._documents = database[REQUESTS_COLLECTION]

    async def begin_attempt(
        self, message: RequestMessage, partition: int, offset: int, attempt: int
    ) -> WriteOutcome:
        """Record the attempt, then announce it; a superseded one re-announces the stored state."""
        outcome = await super().begin_attempt(message, partition, offset, attempt)
        if outcome is WriteOutcome.SUPERSEDED:
            await self._republish(message.id)
            return outcome
        now = utc_now()
        event = StatusEvent(
            request_id=message.id,
            user_id=message.user_id,
            type=message.type,
            state=RequestState.PROCESSING,
            attempts=attempt,
            occurred_at=now,
            enqueued_at=message.enqueued_at,
            started_at=now,
        )
        self._started[message.id] = event
        self._started.move_to_end(message.id)
        while len(self._started) > MAX_REMEMBERED:
            self._started.popitem(last=False)
        self._publisher.publish_soon(event)
        return outcome

    async def finish(
        self,
        message: RequestMessage,
        state: RequestState,
        result_json: str | None = None,
        error: dict[str, str] | None = None,
        finished_at: datetime | None = None,
    ) -> WriteOutcome:
        """Record the terminal state, then publish it and wait for Kafka's acknowledgement."""
        outcome = await super().finish(message, state, result_json, error, finished_at)
        started = self._started.pop(message.id, None)
        if outcome is WriteOutcome.APPLIED:
            now = finished_at or utc_now()
            await self._publisher.publish(
                StatusEvent(
                    request_id=message.id,
                    user_id=message.user_id,
                    type=message.type,
                    state=state,
                    attempts=started.attempts if started is not None else 0,
                    occurred_at=now,
                    enqueued_at=message.enqueued_at,
                    started_at=started.started_at if started is not None else None,
                    finished_at=now,
                    error_code=(error or {}).get("code"),
                )
            )
        return outcome

    async def _republish(self, request_id: str) -> None:
        """Publish the state the store holds (a duplicate for readers who saw it already)."""
        document = await self._documents.find_one({"_id": request_id})
        if document is not None and "state" in document and "user_id" in document:
            await self._publisher.publish(StatusEvent.from_document(document))


class PublishingFinishedLookup:
    """A `FinishedLookup` that re-announces the requests it finds already terminal.

    After a restart or a rebalance the engine skips records whose request is
    terminal without running them (`lanes_processor.consumer.replayed`). The
    previous owner may have died between that terminal write and its event,
    so the stored state is published again (a duplicate for readers who saw
    it), before the skipped records' offsets can be committed.
    """

    def __init__(
        self,
        lookup: FinishedLookup,
        collection: AsyncCollection[MongoDocument],
        publisher: StatusPublisher,
    ) -> None:
        self._lookup = lookup
        self._documents = collection
        self._publisher = publisher

    async def terminal(self, request_ids: list[str]) -> set[str]:
        """The terminal ids among ``request_ids``, each one's event published again."""
        found = await self._lookup.terminal(request_ids)
        if found:
            cursor = self._documents.find({"_id": {"$in": sorted(found)}})
            for document in await cursor.to_list():
                if "state" in document and "user_id" in document:
                    await self._publisher.publish(StatusEvent.from_document(document))
        return found
