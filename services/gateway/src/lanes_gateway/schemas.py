"""The JSON bodies of the ``/v1`` API: what clients send and what they get back."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue

from lanes_common.states import RequestState
from lanes_common.timestamps import Timestamp

REQUEST_TYPE_PATTERN = r"^[a-z][a-z0-9_.-]{0,63}$"
MAX_PAYLOAD_DEPTH = 64
"""How deeply a payload may nest: deeper values would hit recursion limits downstream."""


def json_depth(value: Any) -> int:
    """How many arrays/objects deep ``value`` nests (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _limit_depth(value: Any) -> Any:
    # Checked before the JSON-value validation, which would itself recurse.
    if json_depth(value) > MAX_PAYLOAD_DEPTH:
        raise ValueError(f"nests deeper than {MAX_PAYLOAD_DEPTH} levels")
    return value


Payload = Annotated[JsonValue, BeforeValidator(_limit_depth)]
"""Any JSON value a user hands in, nested at most `MAX_PAYLOAD_DEPTH` levels."""


class EnqueueBody(BaseModel):
    """A request to enqueue: which handler runs it, and its input."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(
        pattern=REQUEST_TYPE_PATTERN,
        description="The handler that runs the request.",
        examples=["echo"],
    )
    payload: Payload = Field(default=None, description="The handler's input: any JSON value.")


class RequestLinks(BaseModel):
    """Where to read the request."""

    self: str


class EnqueuedRequest(BaseModel):
    """Kafka acknowledged the request; it waits in the caller's queue."""

    id: str
    state: RequestState
    links: RequestLinks


class RequestFailure(BaseModel):
    """Why a request failed."""

    code: str
    message: str


class RequestView(BaseModel):
    """One of the caller's requests as it stands now."""

    id: str
    type: str
    state: RequestState
    attempts: int
    payload: JsonValue
    result: JsonValue
    error: RequestFailure | None
    enqueued_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    updated_at: Timestamp | None
    position: int | None = Field(
        description="1 when it runs next. Shown by `GET /v1/requests/{id}` while queued; "
        "otherwise null.",
    )
    estimated_start_at: Timestamp | None = Field(
        default=None,
        description="While queued, when it should start: now + (position - 1) x the recent "
        "mean processing time of its type. Null when too few of that type finished lately, "
        "and in lists.",
    )


class RequestPage(BaseModel):
    """A page of the caller's requests, newest first."""

    items: list[RequestView]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class QueueSummary(BaseModel):
    """The caller's queue at a glance."""

    counts: dict[RequestState, int] = Field(description="Requests per state, every state present.")
    pending: int = Field(description="Requests not finished yet (queued or processing).")
    oldest_queued_age_seconds: float | None = Field(
        description="How long the oldest queued request has waited; null when none is queued.",
    )
    estimated_start_at: Timestamp | None = Field(
        default=None,
        description="When the newest queued request should start (all queued work has "
        "started by then): now + (pending - 1) x the recent mean processing time over all "
        "types. Null when nothing is queued or too few requests finished lately.",
    )
