"""``/v1/queue``: the caller's queue at a glance."""

from __future__ import annotations

from fastapi import APIRouter

from lanes_common.messages import utc_now
from lanes_common.states import RequestState
from lanes_gateway.api.problems import problem_responses
from lanes_gateway.deps import CurrentUser, Resources
from lanes_gateway.schemas import QueueSummary
from lanes_gateway.views import queue_summary

router = APIRouter(prefix="/v1/queue", tags=["queue"])


@router.get("", responses=problem_responses(401, 503))
async def read_queue(user: CurrentUser, resources: Resources) -> QueueSummary:
    """Counts per state, how many are pending, and how long the oldest queued one has waited."""
    queue = await resources.store.user_queue(user.subject)
    finished = await resources.store.count_finished_by_state(user.subject)
    now = utc_now()
    summary = queue_summary(queue, finished, now)
    if summary.counts[RequestState.QUEUED]:
        durations = resources.status_hub.durations
        summary.estimated_start_at = durations.estimated_start(summary.pending - 1, now)
    return summary
