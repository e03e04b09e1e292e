"""Server-sent events: ``/v1/events`` (all of the caller's changes), and one request's."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from lanes_common.http.problems import ApiProblem, retry_after
from lanes_common.status_events import StatusEvent
from lanes_gateway.api.problems import problem_responses
from lanes_gateway.deps import CurrentUser, Resources
from lanes_gateway.errors import RequestNotFoundError
from lanes_gateway.events.hub import TooManyStreamsError
from lanes_gateway.events.positions import EventPosition
from lanes_gateway.events.sse import SSE_MEDIA_TYPE
from lanes_gateway.events.streams import request_events, user_events

router = APIRouter(tags=["events"])

_STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A `text/event-stream`. Each `status` event's `data` is a "
        "`StreamedStatus`; its `id` can be sent back as `Last-Event-ID`. `error` events "
        "(`token_expired`, `slow_consumer`) end the stream; `resync` says a resume "
        "came too late to be complete. Comment lines are heartbeats.",
        "content": {SSE_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/StreamedStatus"}}},
    },
}
_TOO_MANY = "The caller (`LANES_MAX_STREAMS_PER_USER`) or the gateway (`LANES_MAX_STREAMS`) "
_TOO_MANY += "holds as many streams as allowed."

LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="The `id` of the last event received: the stream starts after it, "
        "if it is still within the resume window.",
    ),
]


def _too_many(exc: TooManyStreamsError) -> ApiProblem:
    return ApiProblem(429, "too_many_streams", str(exc), headers=retry_after(5))


@router.get(
    "/v1/events",
    response_class=StreamingResponse,
    responses={**_STREAM_RESPONSE, **problem_responses(400, 401, 429, 503, s429=_TOO_MANY)},
)
async def stream_events(
    user: CurrentUser, resources: Resources, last_event_id: LastEventId = None
) -> StreamingResponse:
    """Every state change of the caller's requests, as server-sent events, while connected."""
    after = None
    if last_event_id is not None:
        try:
            after = EventPosition.parse(last_event_id)
        except ValueError as exc:
            raise ApiProblem(400, "invalid_last_event_id", str(exc)) from exc
    try:
        subscription, resume = resources.status_hub.subscribe(user.subject, after)
    except TooManyStreamsError as exc:
        raise _too_many(exc) from exc
    stream = user_events(
        resources.status_hub,
        subscription,
        resume,
        float(user.expires_at),
        resources.settings.stream_heartbeat_seconds,
    )
    return StreamingResponse(stream, media_type=SSE_MEDIA_TYPE, headers=_STREAM_HEADERS)


@router.get(
    "/v1/requests/{request_id}/events",
    response_class=StreamingResponse,
    responses={**_STREAM_RESPONSE, **problem_responses(401, 404, 429, 503, s429=_TOO_MANY)},
)
async def stream_request_events(
    request_id: str, user: CurrentUser, resources: Resources
) -> StreamingResponse:
    """One request's state now, then each change, until it is finished; then the stream ends."""
    try:
        uuid.UUID(request_id)
    except ValueError as exc:
        raise RequestNotFoundError(request_id) from exc
    hub = resources.status_hub
    try:
        # Subscribed before the read: a change made in between still arrives.
        subscription, _ = hub.subscribe(user.subject)
    except TooManyStreamsError as exc:
        raise _too_many(exc) from exc
    try:
        document = await resources.store.find_for_user(request_id, user.subject)
        if document is None:
            raise RequestNotFoundError(request_id)
    except BaseException:
        hub.unsubscribe(subscription)
        raise
    stream = request_events(
        hub,
        subscription,
        StatusEvent.from_document(document),
        float(user.expires_at),
        resources.settings.stream_heartbeat_seconds,
    )
    return StreamingResponse(stream, media_type=SSE_MEDIA_TYPE, headers=_STREAM_HEADERS)
