"""The gateway's reads and writes on ``requests`` and ``user_queues``.

Every query names the caller: a user only ever sees their own requests. What
a request's path reads is a lookup by ``_id`` (one request by id and owner;
the caller's queue document for counts, the quota and ``position``), so it
costs the same however long the user's history. Listing a user's requests
and counting their finished ones go through the indexes created here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from lanes_common.documents import REQUESTS_COLLECTION
from lanes_common.messages import RequestMessage
from lanes_common.mongo import write_unordered
from lanes_common.states import TERMINAL_RANK, TERMINAL_STATES, RequestState
from lanes_common.types import MongoDocument
from lanes_common.user_queues import (
    USER_QUEUES_COLLECTION,
    ClosedEntry,
    UserQueue,
    queue_operations,
)
from lanes_gateway.cursor import PageCursor

_TERMINAL_STATE_VALUES = sorted(state.value for state in TERMINAL_STATES)

LIST_INDEX = [("user_id", ASCENDING), ("enqueued_at", ASCENDING), ("_id", ASCENDING)]
"""Serves a user's requests newest first (walked backwards), and their cursor."""
STATE_INDEX = [
    ("user_id", ASCENDING),
    ("state", ASCENDING),
    ("enqueued_at", ASCENDING),
    ("_id", ASCENDING),
]
"""Serves a user's requests in one state, and the per-state totals."""
EXPIRY_INDEX = "expires_at_ttl"


def queued_document(
    message: RequestMessage, payload_json: str, partition: int, offset: int, now: datetime
) -> MongoDocument:
    """The status document of a request Kafka just acknowledged (`lanes_common.documents`)."""
    return {
        "_id": message.id,
        "user_id": message.user_id,
        "type": message.type,
        "payload_json": payload_json,
        "state": RequestState.QUEUED.value,
        "state_rank": RequestState.QUEUED.rank,
        "attempts": 0,
        "result_json": None,
        "error": None,
        "partition": partition,
        "offset": offset,
        "enqueued_at": message.enqueued_at,
        "started_at": None,
        "finished_at": None,
        "updated_at": now,
        "idempotency_key": message.idempotency_key,
    }


def page_filter(
    user_id: str, state: RequestState | None, after: PageCursor | None
) -> MongoDocument:
    """The filter for one page of a user's requests, newest first, after ``after``."""
    query: MongoDocument = {"user_id": user_id}
    if state is not None:
        query["state"] = state.value
    if after is not None:
        query["$or"] = [
            {"enqueued_at": {"$lt": after.enqueued_at}},
            {"enqueued_at": after.enqueued_at, "_id": {"$lt": after.request_id}},
        ]
    return query


class RequestStore:
    """The requests collection and the users' queue documents, seen from the gateway."""

    def __init__(self, database: AsyncDatabase[MongoDocument], retention: timedelta) -> None:
        """``retention``: how long a finished request is kept (its ``expires_at``)."""
        self._requests = database[REQUESTS_COLLECTION]
        self._queues = database[USER_QUEUES_COLLECTION]
        self._retention = retention

    async def ensure_indexes(self) -> None:
        """Create the indexes the lists, totals and retention use (idempotent).

        Default names for the compound ones, so that another service creating
        the same keys does not conflict. ``expires_at`` is a TTL index: on
        MongoDB its monitor deletes expired requests, and `expire_finished`
        does the same on a timer for servers without one.
        """
        await self._requests.create_index(LIST_INDEX)
        await self._requests.create_index(STATE_INDEX)
        await self._requests.create_index(
            [("expires_at", ASCENDING)], name=EXPIRY_INDEX, expireAfterSeconds=0
        )

    async def find_for_user(self, request_id: str, user_id: str) -> MongoDocument | None:
        """The user's request with that id, or None (also when it is someone else's)."""
        return await self._requests.find_one({"_id": request_id, "user_id": user_id})

    async def exists(self, request_id: str) -> bool:
        """Whether a status document with this id exists (whoever's it is)."""
        found = await self._requests.find_one({"_id": request_id}, projection={"_id": True})
        return found is not None

    async def user_queue(self, user_id: str) -> UserQueue:
        """The user's open requests (queued or processing), from their queue document."""
        return UserQueue.from_document(await self._queues.find_one({"_id": user_id}))

    async def count_queued(self, user_id: str) -> int:
        """How many of the user's requests wait in their queue (not started yet)."""
        return (await self.user_queue(user_id)).count(RequestState.QUEUED)

    async def cancel_queued(
        self, request_id: str, user_id: str, now: datetime
    ) -> MongoDocument | None:
        """Cancel the user's request if it is still queued: the cancelled document, else None.

        One conditional write: a processor starting the request at the same
        moment either sees it cancelled or wins, never both.
        """
        cancelled = RequestState.CANCELLED
        document = await self._requests.find_one_and_update(
            {"_id": request_id, "user_id": user_id, "state": RequestState.QUEUED.value},
            {
                "$set": {
                    "state": cancelled.value,
                    "state_rank": cancelled.rank,
                    "finished_at": now,
                    "updated_at": now,
                    "expires_at": now + self._retention,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        if document is not None:
            (close,) = queue_operations([], [ClosedEntry(user_id, request_id)])
            await self._queues.bulk_write([close])
        return document

    async def mark_replayed(self, request_id: str, replayed_as: str) -> bool:
        """Mark a dead-lettered request as replayed by ``replayed_as``, unless it already is.

        One conditional write, so of concurrent replays of one request exactly
        one marks it (True); the others find the mark.
        """
        marked = await self._requests.update_one(
            {
                "_id": request_id,
                "state": RequestState.DEAD_LETTERED.value,
                "replayed_as": {"$in": [None]},
            },
            {"$set": {"replayed_as": replayed_as}},
        )
        return marked.modified_count == 1

    async def unmark_replayed(self, request_id: str, replayed_as: str) -> None:
        """Take back this replay's mark (Kafka did not acknowledge the new request)."""
        await self._requests.update_one(
            {"_id": request_id, "replayed_as": replayed_as}, {"$unset": {"replayed_as": ""}}
        )

    async def list_page(
        self, user_id: str, state: RequestState | None, after: PageCursor | None, limit: int
    ) -> list[MongoDocument]:
        """Up to ``limit`` of the user's requests after ``after``, newest first."""
        cursor = (
            self._requests.find(page_filter(user_id, state, after))
            .sort([("enqueued_at", -1), ("_id", -1)])
            .limit(limit)
        )
        return await cursor.to_list()

    async def count_finished_by_state(self, user_id: str) -> dict[str, int]:
        """The number of the user's finished requests in each terminal state that has any."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"user_id": user_id, "state": {"$in": _TERMINAL_STATE_VALUES}}},
            {"$group": {"_id": "$state", "count": {"$sum": 1}}},
        ]
        counts: dict[str, int] = {}
        async for row in await self._requests.aggregate(pipeline):
            counts[str(row["_id"])] = int(row["count"])
        return counts

    async def expire_finished(self, now: datetime) -> int:
        """Delete finished requests whose retention ended; returns how many went.

        The same deletion MongoDB's TTL monitor makes, for servers that have
        none. Only finished requests carry ``expires_at``, and they are not
        in any user's open entries, so no count changes.
        """
        result = await self._requests.delete_many({"expires_at": {"$lte": now}})
        return result.deleted_count

    async def close_finished_entries(self) -> int:
        """Drop open entries whose request is finished; returns how many went.

        An entry outlives its request's end only if the close was lost (a
        crash between the two writes) and the record was not run again
        (the processor skips a redelivered record it knows is finished), so
        a periodic pass makes the counts converge. Reads one queue document
        and its open requests by ``_id`` per user; not on a request's path.
        """
        closed = 0
        async for queue in self._queues.find({}, {"open": True}):
            keys = list((queue.get("open") or {}).keys())
            if not keys:
                continue
            finished = self._requests.find(
                {"_id": {"$in": keys}, "state_rank": TERMINAL_RANK}, {"_id": True}
            )
            stale = [ClosedEntry(queue["_id"], doc["_id"]) async for doc in finished]
            if stale:
                await write_unordered(self._queues, queue_operations([], stale))
                closed += len(stale)
        return closed
