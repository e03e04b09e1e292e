"""``/v1/requests``: enqueue a request, read one, list the caller's."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Response

from lanes_common.states import RequestState
from lanes_gateway.api.problems import problem_responses
from lanes_gateway.cursor import PageCursor
from lanes_gateway.deps import CurrentUser, Resources
from lanes_gateway.enqueue import enqueue_request
from lanes_gateway.errors import RequestNotFoundError
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


@router.post(
    "",
    status_code=202,
    responses=problem_responses(400, 401, 413, 422, 503),
)
async def create_request(
    body: EnqueueBody, user: CurrentUser, resources: Resources, response: Response
) -> EnqueuedRequest:
    """Enqueue a request; answers once Kafka has acknowledged it."""
    message = await enqueue_request(
        resources.producer,
        resources.store,
        resources.settings.requests_topic,
        user.subject,
        body.type,
        body.payload,
    )
    location = request_path(message.id)
    response.headers["Location"] = location
    return EnqueuedRequest(
        id=message.id, state=RequestState.QUEUED, links=RequestLinks(self=location)
    )


@router.get("/{request_id}", responses=problem_responses(401, 404))
async def read_request(request_id: str, user: CurrentUser, resources: Resources) -> RequestView:
    """One of the caller's requests: state, result or error, and its queue position while queued."""
    if not _REQUEST_ID.match(request_id):
        raise RequestNotFoundError(request_id)
    document = await resources.store.find_for_user(request_id, user.subject)
    if document is None:
        raise RequestNotFoundError(request_id)
    position = None
    if document.get("state") == RequestState.QUEUED and document.get("offset") is not None:
        before = await resources.store.count_open_before(user.subject, int(document["offset"]))
        position = queue_position(before)
    return request_view(document, position)


@router.get("", responses=problem_responses(401, 422))
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
