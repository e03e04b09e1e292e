"""Replaying a dead-lettered request: the same type and payload as a new request, once.

The original's document is marked ``replayed_as`` by a conditional update
before anything is produced, so concurrent or repeated replays of one
request enqueue exactly one new request; the mark is taken back if Kafka
does not acknowledge. The operator's ``lanes-replay-dlq`` uses the same mark.
The new request is then accepted as every request is (`Enqueuer.accept`);
like a taken-over idempotency claim, it skips the quota.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from lanes_common.documents import decode_json_value
from lanes_common.messages import RequestMessage, new_request_id, utc_now
from lanes_common.states import RequestState
from lanes_gateway.enqueue import Enqueuer
from lanes_gateway.errors import EnqueueUnavailableError, NotReplayableError, RequestNotFoundError
from lanes_gateway.store import RequestStore


@dataclass(frozen=True, slots=True)
class Replayed:
    """The new request's id; ``repeated`` when an earlier replay made it."""

    request_id: str
    repeated: bool


@dataclass(frozen=True, slots=True)
class DeadLetterReplays:
    """Replays the callers' dead-lettered requests; everything it needs, wired in the lifespan."""

    store: RequestStore
    enqueuer: Enqueuer

    async def replay(self, user_id: str, request_id: str) -> Replayed:
        """Enqueue the user's dead-lettered request again, or answer the replay made before.

        Raises `RequestNotFoundError` (not the user's request),
        `NotReplayableError` (not dead-lettered) and `EnqueueUnavailableError`.
        """
        try:
            uuid.UUID(request_id)
        except ValueError as exc:
            raise RequestNotFoundError(request_id) from exc
        original = await self.store.find_for_user(request_id, user_id)
        if original is None:
            raise RequestNotFoundError(request_id)
        if original.get("replayed_as"):
            return Replayed(str(original["replayed_as"]), repeated=True)
        if original.get("state") != RequestState.DEAD_LETTERED.value:
            raise NotReplayableError(str(original.get("state")))
        new_id = new_request_id()
        if not await self.store.mark_replayed(request_id, new_id):
            # Someone replayed it in between: answer what they enqueued.
            current = await self.store.find_for_user(request_id, user_id) or {}
            if current.get("replayed_as"):
                return Replayed(str(current["replayed_as"]), repeated=True)
            raise NotReplayableError(str(current.get("state")))
        message = RequestMessage(
            id=new_id,
            user_id=user_id,
            type=original["type"],
            payload=decode_json_value(original.get("payload_json")),
            enqueued_at=utc_now(),
            replay_of=request_id,
        )
        try:
            await self.enqueuer.accept(message)
        except EnqueueUnavailableError:
            await self.store.unmark_replayed(request_id, new_id)
            raise
        return Replayed(new_id, repeated=False)
