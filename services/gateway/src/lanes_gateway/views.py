"""Stored documents and counts shaped into the API's answers; pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from lanes_common.documents import decode_json_value
from lanes_common.states import OPEN_STATES, RequestState
from lanes_common.types import MongoDocument
from lanes_common.user_queues import UserQueue
from lanes_gateway.schemas import QueueSummary, RequestFailure, RequestView


def request_view(document: MongoDocument, position: int | None) -> RequestView:
    """A stored status document as the API shows it; ``position`` only counts while queued."""
    state = RequestState(document["state"])
    error = document.get("error")
    return RequestView(
        id=document["_id"],
        type=document["type"],
        state=state,
        attempts=int(document.get("attempts") or 0),
        payload=decode_json_value(document.get("payload_json")),
        result=decode_json_value(document.get("result_json")),
        error=RequestFailure.model_validate(error) if error else None,
        enqueued_at=document["enqueued_at"],
        started_at=document.get("started_at"),
        finished_at=document.get("finished_at"),
        updated_at=document.get("updated_at"),
        position=position if state is RequestState.QUEUED else None,
    )


def queue_position(open_before: int) -> int:
    """Place in the queue given how many unfinished requests precede it: 1 runs next."""
    return open_before + 1


def queue_summary(queue: UserQueue, finished: Mapping[str, int], now: datetime) -> QueueSummary:
    """Counts for every state (zero when none), the pending total and the oldest queued age.

    Open counts come from the user's queue document, finished ones from ``finished``.
    """
    per_state = {
        state: queue.count(state) if state in OPEN_STATES else int(finished.get(state.value, 0))
        for state in RequestState
    }
    oldest_queued_at = queue.oldest_queued_at()
    age = None
    if oldest_queued_at is not None:
        # Clocks of different hosts may disagree slightly; an age is never negative.
        age = max(0.0, (now - oldest_queued_at).total_seconds())
    return QueueSummary(
        counts=per_state,
        pending=sum(per_state[state] for state in OPEN_STATES),
        oldest_queued_age_seconds=age,
    )
