"""``/v1/requests``: enqueue a request, read one, cancel one, list the caller's."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from lanes_common.messages import utc_now
from lanes_common.states import RequestState
from lanes_common.types import MongoDocument
from lanes_gateway.api.problems import problem_responses
from lanes_gateway.cursor import PageCursor
from lanes_gateway.deps import CurrentUser, Resources
from lanes_gateway.enqueue import NewRequest
from lanes_gateway.errors import RequestNotCancellableError, RequestNotFoundError
from lanes_gateway.events.published import cancelled_event
from lanes_gateway.idempotency import IDEMPOTENCY_KEY_PATTERN
from lanes_gateway.schemas import (
    EnqueueBody,
    EnqueuedRequest,
    RequestLinks,
    RequestPage,
    RequestView,
)
from lanes_gateway.views import queue_position, request_view

router = APIRouter(prefix="/v1/requests", tags=["requests"])

# Request ids are UUID4s in canonical form; anything else cannot name a request.
_REQUEST_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def request_path(request_id: str) -> str:
    """Where a request can be read."""
    return f"{router.prefix}/{request_id}"


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Any unique string (a UUID, say), 1 to 255 visible ASCII characters. "
        "Sending the same key with the same body again answers the same request id and "
        "enqueues nothing; with a different body, 409. Keys are per user and last 24 h.",
    ),
]


@router.post(
    "",
    status_code=202,
    responses={
        202: {
            "headers": {
                "Location": {
                    "description": "Where the request can be read.",
                    "schema": {"type": "string"},
                },
                "Idempotent-Replayed": {
                    "description": "`true` when an earlier call with this Idempotency-Key "
                    "accepted the request.",
                    "schema": {"type": "string", "enum": ["true"]},
                },
            }
        },
        **problem_responses(
            400,
            401,
            409,
            413,
            422,
            429,
            503,
            s409="The Idempotency-Key was used with another body (`idempotency_key_reused`), "
            "or its first request is still being accepted (`idempotency_key_in_progress`).",
            s422="The body is invalid, or the payload does not suit a built-in type; "
            "`errors` names the fields.",
            s429="The caller already has `LANES_MAX_QUEUED_PER_USER` queued requests.",
        ),
    },
)
async def create_request(
    body: EnqueueBody,
    user: CurrentUser,
    resources: Resources,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> EnqueuedRequest:
    """Enqueue a request; answers once Kafka has acknowledged it."""
    request = NewRequest(user.subject, body.type, body.payload, idempotency_key)
    enqueued = await resources.enqueuer.enqueue(request)
    if enqueued.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    location = request_path(enqueued.message.id)
    response.headers["Location"] = location
    return EnqueuedRequest(
        id=enqueued.message.id, state=RequestState.QUEUED, links=RequestLinks(self=location)
    )


async def _find_own_request(resources: Resources, request_id: str, user_id: str) -> MongoDocument:
    if not _REQUEST_ID.match(request_id):
        raise RequestNotFoundError(request_id)
    document = await resources.store.find_for_user(request_id, user_id)
    if document is None:
        raise RequestNotFoundError(request_id)
    return document


@router.get("/{request_id}", responses=problem_responses(401, 404, 503))
async def read_request(request_id: str, user: CurrentUser, resources: Resources) -> RequestView:
    """One of the caller's requests: state, result or error, and its queue position while queued."""
    document = await _find_own_request(resources, request_id, user.subject)
    view = request_view(document, None)
    if document.get("state") == RequestState.QUEUED and document.get("offset") is not None:
        queue = await resources.store.user_queue(user.subject)
        before = queue.open_before(int(document["offset"]))
        position = queue_position(before)
        durations = resources.status_hub.durations
        view = request_view(document, position)
        view.estimated_start_at = durations.estimated_start(before, utc_now(), view.type)
    return view


@router.delete(
    "/{request_id}",
    responses=problem_responses(
        401,
        404,
        409,
        503,
        s409="The request already started or finished (`not_cancellable`).",
    ),
)
async def cancel_request(request_id: str, user: CurrentUser, resources: Resources) -> RequestView:
    """Cancel one of the caller's requests while it is still queued; the processor skips it.

    Cancelling a cancelled request again answers it unchanged.
    """
    if not _REQUEST_ID.match(request_id):
        raise RequestNotFoundError(request_id)
    cancelled_at = utc_now()
    cancelled = await resources.store.cancel_queued(request_id, user.subject, cancelled_at)
    if cancelled is not None:
        resources.quota.forget(user.subject)
        resources.status_publisher.publish_soon(cancelled_event(cancelled, cancelled_at))
        return request_view(cancelled, None)
    document = await _find_own_request(resources, request_id, user.subject)
    state = RequestState(document["state"])
    if state is not RequestState.CANCELLED:
        raise RequestNotCancellableError(state.value)
    return request_view(document, None)


@router.get("", responses=problem_responses(401, 422, 503))
async def list_requests(
    user: CurrentUser,
    resources: Resources,
    state: Annotated[RequestState | None, Query(description="Only requests in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> RequestPage:
    """The caller's requests, newest first, a page at a time."""
    after = PageCursor.decode(cursor) if cursor is not None else None
    # One extra tells whether another page follows.
    documents = await resources.store.list_page(user.subject, state, after, limit + 1)
    page = documents[:limit]
    next_cursor = None
    if len(documents) > limit:
        last = page[-1]
        next_cursor = PageCursor(last["enqueued_at"], last["_id"]).encode()
    return RequestPage(
        items=[request_view(document, None) for document in page], next_cursor=next_cursor
    )
