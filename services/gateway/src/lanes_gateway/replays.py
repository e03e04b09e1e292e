"""Replaying a dead-lettered request: the same type and payload as a new request, once.

The original's document is marked ``replayed_as`` by a conditional update
before anything is produced, so concurrent or repeated replays of one
request enqueue exactly one new request; the mark is taken back if Kafka
does not acknowledge. The operator's ``lanes-replay-dlq`` uses the same mark.
"""

from __future__ import annotations

from pymongo.asynchronous.collection import AsyncCollection

from lanes_common.documents import decode_json_value
from lanes_common.kafka import AsyncProducer
from lanes_common.messages import RequestMessage, new_request_id, utc_now
from lanes_common.states import RequestState
from lanes_common.types import MongoDocument
from lanes_gateway.enqueue import produce_request
from lanes_gateway.errors import EnqueueUnavailableError, NotReplayableError
from lanes_gateway.queued_inserts import QueuedInserts


async def replay_dead_letter(
    requests: AsyncCollection[MongoDocument],
    inserts: QueuedInserts,
    producer: AsyncProducer,
    topic: str,
    original: MongoDocument,
) -> tuple[str, RequestMessage | None]:
    """Enqueue the original again: the new request's id, and its message unless made before."""
    if original.get("replayed_as"):
        return str(original["replayed_as"]), None
    if original.get("state") != RequestState.DEAD_LETTERED.value:
        raise NotReplayableError(str(original.get("state")))
    new_id = new_request_id()
    marked = await requests.update_one(
        {
            "_id": original["_id"],
            "state": RequestState.DEAD_LETTERED.value,
            "replayed_as": {"$in": [None]},
        },
        {"$set": {"replayed_as": new_id}},
    )
    if marked.modified_count != 1:
        # Someone replayed it in between: answer what they enqueued.
        current = await requests.find_one({"_id": original["_id"]})
        if current is not None and current.get("replayed_as"):
            return str(current["replayed_as"]), None
        raise NotReplayableError(str((current or {}).get("state")))
    message = RequestMessage(
        id=new_id,
        user_id=original["user_id"],
        type=original["type"],
        payload=decode_json_value(original.get("payload_json")),
        enqueued_at=utc_now(),
        replay_of=original["_id"],
    )
    try:
        await produce_request(producer, inserts, topic, message)
    except EnqueueUnavailableError:
        await requests.update_one(
            {"_id": original["_id"], "replayed_as": new_id}, {"$unset": {"replayed_as": ""}}
        )
        raise
    return new_id, message
