"""Status writes to MongoDB: batched, idempotent, and only ever forward.

Each state change is one conditional write: an upsert whose filter names the
request (``_id``), its owner (``user_id``) and the ranks it may move from,
so the check and the write are one atomic step and a redelivered or late
message cannot move a request back. The outcome is read from the write
itself: a filter that matches applies the change, a request not stored yet
is created by the upsert (Kafka alone materialises every request), and a
request already further along makes the upsert collide with its own ``_id``,
which the unordered bulk reports as a duplicate key at that operation's
index. A collision is tried once more, because it is also what a race with
the gateway's ``queued`` insert of the same id looks like; the second answer
is final.

Transitions from all concurrent requests are group-committed by two stages,
one bulk at a time each: an unordered ``bulk_write`` on ``requests``, then
one on ``user_queues`` for the open entries, which follow the outcomes
(`lanes_common.user_queues`); the next batch goes to ``requests`` while this
one's entries are written. A start answers after its ``requests`` write; its
entry follows, in batch order, or merges with the close when the request
finished first (an entry is never reopened), so for one entries bulk at most
the user's queue document still counts it as ``queued``. A terminal
transition (or a superseded start, which closes again) answers only once its
entry is closed. Writes are retried until they land: an offset is committed
only for a request whose status is durably recorded (docs/processor.md,
"Status writes"; a crash between a start's two writes redelivers the record).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from functools import partial
from typing import TypeVar

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from lanes_common.documents import REQUESTS_COLLECTION, encode_json_value
from lanes_common.messages import RequestMessage, utc_now
from lanes_common.mongo import write_unordered
from lanes_common.states import TERMINAL_RANK, RequestState
from lanes_common.telemetry.log_context import describe_error
from lanes_common.types import MongoDocument
from lanes_common.user_queues import (
    USER_QUEUES_COLLECTION,
    ClosedEntry,
    OpenEntry,
    queue_operations,
)
from lanes_processor.backoff import Backoff

logger = logging.getLogger(__name__)

T = TypeVar("T")


class WriteOutcome(Enum):
    """What a transition found."""

    APPLIED = "applied"
    """The request moved to the new state."""
    SUPERSEDED = "superseded"
    """The request is already further along (finished or cancelled); nothing changed."""


@dataclass
class _Transition:
    message: RequestMessage
    state: RequestState
    operation: UpdateOne
    offset: int | None = None
    done: asyncio.Future[WriteOutcome] = field(default_factory=asyncio.Future)

    def opens_entry(self, outcome: WriteOutcome) -> bool:
        """Whether this transition (an applied start) opens its request's entry."""
        return outcome is WriteOutcome.APPLIED and not self.state.is_terminal

    def queue_entry(self, outcome: WriteOutcome) -> OpenEntry | ClosedEntry:
        """How the user's open entries follow this transition's outcome."""
        if self.opens_entry(outcome):
            return OpenEntry(
                self.message.user_id,
                self.message.id,
                self.state,
                self.offset,
                self.message.enqueued_at,
            )
        # Terminal, or found terminal: a close lost to a crash is repeated here.
        return ClosedEntry(self.message.user_id, self.message.id)


_Recorded = tuple[_Transition, WriteOutcome]
"""A transition whose ``requests`` write landed, and what it found."""


def _materialised(message: RequestMessage) -> MongoDocument:
    """Fields of a request's document that only a write creating it sets."""
    return {
        "type": message.type,
        "payload_json": encode_json_value(message.payload),
        "enqueued_at": message.enqueued_at,
        "idempotency_key": message.idempotency_key,
    }


class StatusStore:
    """The ``requests`` and ``user_queues`` collections, written in batches."""

    def __init__(
        self,
        database: AsyncDatabase[MongoDocument],
        retention: timedelta,
        batch_size: int = 500,
        backoff: Backoff | None = None,
    ) -> None:
        """``retention``: how long a finished request is kept (its ``expires_at``)."""
        self._requests = database[REQUESTS_COLLECTION]
        self._queues = database[USER_QUEUES_COLLECTION]
        self._retention = retention
        self._batch_size = batch_size
        self._backoff = backoff or Backoff(base=0.1, cap=2.0)
        self._queue: asyncio.Queue[_Transition] = asyncio.Queue()
        # Batches whose ``requests`` writes landed, waiting for their open entries.
        self._recorded: asyncio.Queue[list[_Recorded]] = asyncio.Queue()
        self._writers: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the background writers (``requests``, then the users' open entries)."""
        self._writers = [
            asyncio.create_task(self._write_transitions(), name="status-writer"),
            asyncio.create_task(self._write_entries(), name="open-entries-writer"),
        ]
        for writer in self._writers:
            writer.add_done_callback(_log_writer_death)

    async def close(self) -> None:
        """Stop the writers; transitions not yet written fail with CancelledError."""
        for writer in self._writers:
            writer.cancel()
        await asyncio.gather(*self._writers, return_exceptions=True)
        while not self._queue.empty():
            self._queue.get_nowait().done.cancel()
        while not self._recorded.empty():
            for transition, _ in self._recorded.get_nowait():
                transition.done.cancel()

    async def begin_attempt(
        self, message: RequestMessage, partition: int, offset: int, attempt: int
    ) -> WriteOutcome:
        """Record that ``attempt`` of a request starts; SUPERSEDED means do not run it.

        The document is created here if the gateway's write never landed, so
        Kafka alone is enough to materialise every request.
        """
        now = utc_now()
        processing = RequestState.PROCESSING
        operation = UpdateOne(
            # Queued or processing (each retry records its attempt): anything but terminal.
            {"_id": message.id, "user_id": message.user_id, "state_rank": {"$lt": TERMINAL_RANK}},
            {
                "$set": {
                    "state": processing.value,
                    "state_rank": processing.rank,
                    "started_at": now,
                    "updated_at": now,
                },
                "$max": {"attempts": attempt},
                "$setOnInsert": {
                    **_materialised(message),
                    "partition": partition,
                    "offset": offset,
                    "result_json": None,
                    "error": None,
                    "finished_at": None,
                },
            },
            upsert=True,
        )
        return await self._submit(_Transition(message, processing, operation, offset))

    async def finish(
        self,
        message: RequestMessage,
        state: RequestState,
        result_json: str | None = None,
        error: dict[str, str] | None = None,
        finished_at: datetime | None = None,
    ) -> WriteOutcome:
        """Record a terminal state with its result (JSON text) or error."""
        if not state.is_terminal:
            raise ValueError(f"{state} is not terminal")
        now = finished_at or utc_now()
        fields: MongoDocument = {
            "state": state.value,
            "state_rank": state.rank,
            "finished_at": now,
            "updated_at": now,
            "expires_at": now + self._retention,
        }
        if result_json is not None:
            fields["result_json"] = result_json
        if error is not None:
            fields["error"] = error
        operation = UpdateOne(
            {"_id": message.id, "user_id": message.user_id, "state_rank": {"$lt": TERMINAL_RANK}},
            {"$set": fields, "$setOnInsert": {**_materialised(message), "attempts": 0}},
            upsert=True,
        )
        return await self._submit(_Transition(message, state, operation))

    async def _submit(self, transition: _Transition) -> WriteOutcome:
        self._queue.put_nowait(transition)
        return await transition.done

    async def _write_transitions(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            recorded = await self._until_written(partial(self._write_requests, batch))
            if not recorded:
                continue
            # Handed on before any start answers: a close that follows a start's run
            # is queued behind the start's open entry (or merged with it).
            self._recorded.put_nowait(recorded)
            for transition, outcome in recorded:
                if transition.opens_entry(outcome) and not transition.done.done():
                    transition.done.set_result(outcome)

    async def _write_entries(self) -> None:
        while True:
            recorded = await self._recorded.get()
            while not self._recorded.empty():
                recorded += self._recorded.get_nowait()
            entries = [transition.queue_entry(outcome) for transition, outcome in recorded]
            await self._until_written(
                partial(
                    self._write_queues,
                    [e for e in entries if isinstance(e, OpenEntry)],
                    [e for e in entries if isinstance(e, ClosedEntry)],
                )
            )
            for transition, outcome in recorded:
                if not transition.done.done():
                    transition.done.set_result(outcome)

    async def _until_written(self, write: Callable[[], Awaitable[T]]) -> T:
        """``write()``, repeated with backoff until the store takes it.

        Repeating is safe: every write is conditional and every queue update
        idempotent, so one that landed is not applied twice.
        """
        failures = 0
        while True:
            try:
                return await write()
            except PyMongoError as exc:
                failures += 1
                delay = self._backoff.delay(failures)
                logger.warning(
                    "status store write failed; retrying",
                    extra={"retry_in_s": round(delay, 3), "error": describe_error(exc)},
                )
                await asyncio.sleep(delay)

    async def _write_requests(self, batch: list[_Transition]) -> list[_Recorded]:
        """One unordered bulk of conditional upserts; each transition with its outcome."""
        # A waiter cancelled (its partition was revoked or lost) must not have its
        # write land late, behind the partition's new owner.
        batch = [t for t in batch if not t.done.cancelled()]
        refused = await write_unordered(self._requests, [t.operation for t in batch])
        if refused:
            # A refusal is final unless it lost a race with the gateway's insert: then
            # the document exists now, and the same write matches it.
            again = sorted(refused)
            still = await write_unordered(self._requests, [batch[i].operation for i in again])
            refused = {again[i] for i in still}
        return [
            (t, WriteOutcome.SUPERSEDED if i in refused else WriteOutcome.APPLIED)
            for i, t in enumerate(batch)
        ]

    async def _write_queues(self, opened: list[OpenEntry], closed: list[ClosedEntry]) -> None:
        operations = queue_operations(opened, closed)
        refused = await write_unordered(self._queues, operations)
        if refused:
            # Two first upserts of one user's document raced; the second now matches.
            again = [operations[i] for i in sorted(refused)]
            if await write_unordered(self._queues, again):
                raise PyMongoError("user queue upserts collided twice")


def _log_writer_death(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.critical("status writer died; no status can be recorded", exc_info=task.exception())
