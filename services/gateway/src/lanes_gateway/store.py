"""The gateway's reads and its one write on the ``requests`` collection.

Every query filters by ``user_id``: a user only ever sees their own requests.
The queries stay inside what FerretDB v1 serves (plain and compound indexes,
``$in``/``$or``/``$lt``, ``$match`` + ``$group``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from lanes_common.messages import RequestMessage
from lanes_common.mongo import MongoDocument
from lanes_common.states import OPEN_STATES, RequestState
from lanes_gateway.cursor import PageCursor

_OPEN_STATE_VALUES = sorted(state.value for state in OPEN_STATES)


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
    """The requests collection, seen from the gateway."""

    def __init__(self, collection: AsyncCollection[MongoDocument]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        """Create the indexes the gateway's queries use (idempotent).

        Default index names, so that another service creating the same keys
        does not conflict.
        """
        await self._collection.create_index(
            [("user_id", ASCENDING), ("state", ASCENDING), ("offset", ASCENDING)]
        )
        await self._collection.create_index([("user_id", ASCENDING), ("enqueued_at", ASCENDING)])

    async def insert(self, document: MongoDocument) -> None:
        """Insert a new status document; raises ``DuplicateKeyError`` when it exists."""
        await self._collection.insert_one(document)

    async def find_for_user(self, request_id: str, user_id: str) -> MongoDocument | None:
        """The user's request with that id, or None (also when it is someone else's)."""
        # Filter by _id alone and check the owner here: FerretDB v1 uses an index
        # only for a filter that is exactly {_id: value}, and scans otherwise.
        document = await self._collection.find_one({"_id": request_id})
        if document is None or document.get("user_id") != user_id:
            return None
        return document

    async def count_open_before(self, user_id: str, offset: int) -> int:
        """How many of the user's unfinished requests Kafka stored before ``offset``.

        One user's requests share a partition (the key is the user id), so
        their offsets order that user's queue.
        """
        return await self._collection.count_documents(
            {"user_id": user_id, "state": {"$in": _OPEN_STATE_VALUES}, "offset": {"$lt": offset}}
        )

    async def exists(self, request_id: str) -> bool:
        """Whether a status document with this id exists (whoever's it is)."""
        found = await self._collection.find_one({"_id": request_id}, projection={"_id": True})
        return found is not None

    async def count_queued(self, user_id: str) -> int:
        """How many of the user's requests wait in their queue (not started yet)."""
        return await self._collection.count_documents(
            {"user_id": user_id, "state": RequestState.QUEUED.value}
        )

    async def cancel_queued(self, request_id: str, now: datetime) -> bool:
        """Move a queued request to ``cancelled``; False if it was no longer queued.

        On MongoDB the condition and the write are one atomic step. FerretDB v1
        does not apply a conditional update atomically: a processor starting
        the request at the same moment can slip between the two (see
        docs/architecture.md, "FerretDB notes"), so callers read the outcome back.
        """
        cancelled = RequestState.CANCELLED
        result = await self._collection.update_one(
            {"_id": request_id, "state": RequestState.QUEUED.value},
            {
                "$set": {
                    "state": cancelled.value,
                    "state_rank": cancelled.rank,
                    "finished_at": now,
                    "updated_at": now,
                }
            },
        )
        return result.modified_count == 1

    async def count_open(self, user_id: str) -> int:
        """How many of the user's requests are queued or processing."""
        return await self._collection.count_documents(
            {"user_id": user_id, "state": {"$in": _OPEN_STATE_VALUES}}
        )

    async def list_page(
        self, user_id: str, state: RequestState | None, after: PageCursor | None, limit: int
    ) -> list[MongoDocument]:
        """Up to ``limit`` of the user's requests after ``after``, newest first."""
        cursor = (
            self._collection.find(page_filter(user_id, state, after))
            .sort([("enqueued_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return await cursor.to_list()

    async def count_by_state(self, user_id: str) -> dict[str, int]:
        """The number of the user's requests in each state that has any."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"user_id": user_id}},
            {"$group": {"_id": "$state", "count": {"$sum": 1}}},
        ]
        counts: dict[str, int] = {}
        async for row in await self._collection.aggregate(pipeline):
            counts[str(row["_id"])] = int(row["count"])
        return counts

    async def oldest_queued_at(self, user_id: str) -> datetime | None:
        """When the user's oldest still-queued request was enqueued, or None."""
        document = await self._collection.find_one(
            {"user_id": user_id, "state": RequestState.QUEUED.value},
            sort=[("enqueued_at", ASCENDING)],
            projection={"enqueued_at": True},
        )
        return None if document is None else document["enqueued_at"]
