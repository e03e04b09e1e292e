"""The status events the gateway publishes: ``queued`` on accept, ``cancelled`` on cancel.

Both are published after the write they announce (Kafka's acknowledgement of
the request, the store's conditional cancel), without holding the answer.
"""

from __future__ import annotations

from datetime import datetime

from lanes_common.messages import RequestMessage
from lanes_common.states import RequestState
from lanes_common.status_events import StatusEvent
from lanes_common.types import MongoDocument


def queued_event(message: RequestMessage, now: datetime) -> StatusEvent:
    """The event for a request Kafka just acknowledged."""
    return StatusEvent(
        request_id=message.id,
        user_id=message.user_id,
        type=message.type,
        state=RequestState.QUEUED,
        attempts=0,
        occurred_at=now,
        enqueued_at=message.enqueued_at,
    )


def cancelled_event(queued: MongoDocument, now: datetime) -> StatusEvent:
    """The event for a queued request (its document as read) the caller just cancelled."""
    before = StatusEvent.from_document(queued)
    return before.model_copy(
        update={"state": RequestState.CANCELLED, "occurred_at": now, "finished_at": now}
    )
