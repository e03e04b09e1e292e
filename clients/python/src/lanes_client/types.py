"""The API's documents as typed models; `tests/client/test_types.py` holds them to the OpenAPI.

Timestamps parse with or without milliseconds, with ``Z`` or an offset.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class RequestState(StrEnum):
    """Where a request is in its life."""

    QUEUED = "queued"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DEAD_LETTERED = "dead_lettered"

    @property
    def is_terminal(self) -> bool:
        """True once nothing more will happen to the request."""
        return self not in (RequestState.QUEUED, RequestState.PROCESSING)


class _Model(BaseModel):
    # Newer servers may add fields; an older client keeps working.
    model_config = ConfigDict(extra="ignore", frozen=True)


class RequestLinks(_Model):
    """Where to read the request."""

    self: str


class EnqueuedRequest(_Model):
    """Kafka acknowledged the request; it waits in the caller's queue."""

    id: str
    state: RequestState
    links: RequestLinks


class RequestFailure(_Model):
    """Why a request failed."""

    code: str
    message: str


class RequestView(_Model):
    """One request as it stands now."""

    id: str
    type: str
    state: RequestState
    attempts: int
    payload: Any = None
    result: Any = None
    error: RequestFailure | None = None
    enqueued_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime | None = None
    position: int | None = None
    estimated_start_at: datetime | None = None


class RequestPage(_Model):
    """A page of requests, newest first."""

    items: list[RequestView]
    next_cursor: str | None = None


class QueueSummary(_Model):
    """The caller's queue at a glance."""

    counts: dict[RequestState, int]
    pending: int
    oldest_queued_age_seconds: float | None = None
    estimated_start_at: datetime | None = None


class StreamedStatus(_Model):
    """One state change of one request, from an event stream."""

    request_id: str
    type: str
    state: RequestState
    attempts: int
    occurred_at: datetime
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error_code: str | None = None


class StatusEvent(_Model):
    """A `StreamedStatus` and the id to resume after it (None: read from the store)."""

    id: str | None
    status: StreamedStatus


class Tokens(_Model):
    """What login and refresh answer."""

    access_token: str
    expires_in: int
    refresh_token: str | None = None
    refresh_expires_in: int | None = None
