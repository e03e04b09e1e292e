"""Server-sent events on the wire (the WHATWG ``text/event-stream`` format)."""

from __future__ import annotations

import json

from pydantic import BaseModel

from lanes_common.states import RequestState
from lanes_common.status_events import StatusEvent
from lanes_common.timestamps import Timestamp
from lanes_gateway.events.positions import EventPosition

SSE_MEDIA_TYPE = "text/event-stream"
HEARTBEAT = b": keepalive\n\n"
# Clients that reconnect on their own (EventSource) wait this long first.
RETRY_MILLISECONDS = 1000


class StreamedStatus(BaseModel):
    """The ``data`` of a ``status`` event: one state change of one of the caller's requests."""

    request_id: str
    type: str
    state: RequestState
    attempts: int
    occurred_at: Timestamp
    enqueued_at: Timestamp | None
    started_at: Timestamp | None
    finished_at: Timestamp | None
    error_code: str | None


def status_data(event: StatusEvent) -> StreamedStatus:
    """What a stream shows of an event: everything but the user id and schema version."""
    return StreamedStatus.model_validate(event.model_dump(exclude={"user_id", "schema_version"}))


def status_frame(event: StatusEvent, position: EventPosition | None) -> bytes:
    """A ``status`` event; its id is the topic position, absent for a read from the store."""
    lines = []
    if position is not None:
        lines.append(f"id: {position}")
    lines.append("event: status")
    lines.append(f"data: {status_data(event).model_dump_json()}")
    return ("\n".join(lines) + "\n\n").encode()


def control_frame(name: str, code: str, message: str) -> bytes:
    """An ``error`` or ``resync`` event: ``{"code", "message"}``, like a problem's."""
    data = json.dumps({"code": code, "message": message})
    return f"event: {name}\ndata: {data}\n\n".encode()


def retry_frame() -> bytes:
    """Tells EventSource clients how long to wait before reconnecting."""
    return f"retry: {RETRY_MILLISECONDS}\n\n".encode()
