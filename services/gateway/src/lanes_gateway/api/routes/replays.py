"""``POST /v1/requests/{id}/replay``: run a dead-lettered request again, as a new request."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from lanes_common.documents import REQUESTS_COLLECTION
from lanes_common.messages import utc_now
from lanes_common.states import RequestState
from lanes_gateway.api.problems import problem_responses
from lanes_gateway.deps import CurrentUser, Resources
from lanes_gateway.errors import RequestNotFoundError
from lanes_gateway.events.published import queued_event
from lanes_gateway.replays import replay_dead_letter
from lanes_gateway.schemas import EnqueuedRequest, RequestLinks

router = APIRouter(prefix="/v1/requests", tags=["requests"])


@router.post(
    "/{request_id}/replay",
    status_code=202,
    responses=problem_responses(
        401, 404, 409, 503, s409="The request is not dead-lettered (`not_replayable`)."
    ),
)
async def replay_request(
    request_id: str, user: CurrentUser, resources: Resources, response: Response
) -> EnqueuedRequest:
    """Enqueue a dead-lettered request again (once: repeating answers the same new request)."""
    try:
        uuid.UUID(request_id)
    except ValueError as exc:
        raise RequestNotFoundError(request_id) from exc
    original = await resources.store.find_for_user(request_id, user.subject)
    if original is None:
        raise RequestNotFoundError(request_id)
    settings = resources.settings
    new_id, message = await replay_dead_letter(
        resources.mongo[settings.mongo_database][REQUESTS_COLLECTION],
        resources.inserts,
        resources.producer,
        settings.requests_topic,
        original,
    )
    location = f"{router.prefix}/{new_id}"
    response.headers["Location"] = location
    if message is None:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        resources.status_publisher.publish_soon(queued_event(message, utc_now()))
    return EnqueuedRequest(id=new_id, state=RequestState.QUEUED, links=RequestLinks(self=location))
