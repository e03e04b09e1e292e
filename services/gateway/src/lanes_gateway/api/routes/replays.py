"""``POST /v1/requests/{id}/replay``: run a dead-lettered request again, as a new request."""

from __future__ import annotations

from fastapi import APIRouter, Response

from lanes_common.states import RequestState
from lanes_gateway.api.problems import problem_responses
from lanes_gateway.deps import CurrentUser, Resources
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
    replayed = await resources.replays.replay(user.subject, request_id)
    location = f"{router.prefix}/{replayed.request_id}"
    response.headers["Location"] = location
    if replayed.repeated:
        response.headers["Idempotent-Replayed"] = "true"
    return EnqueuedRequest(
        id=replayed.request_id, state=RequestState.QUEUED, links=RequestLinks(self=location)
    )
