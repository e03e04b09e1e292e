"""The seed APIs' routes, at the root and under ``/api``, for clients written against them.

They answer in the seeds' shapes: ``201 {"message"}`` on register,
``{"token"}`` on login, ``{"message"}`` on enqueue and ``{"queueStatus",
"pendingRequests"}`` on status. As the seeds do, a rejected register or
login answers 400 (with auth's reason); a rate limit (429) or an outage
passes through.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from lanes_common.http.problems import problem_response
from lanes_gateway.api.problems import problem_responses
from lanes_gateway.api.routes.auth import client_address
from lanes_gateway.auth_client import AuthAnswer
from lanes_gateway.deps import CurrentUser, Resources
from lanes_gateway.enqueue import NewRequest
from lanes_gateway.seed_schemas import (
    ENQUEUED_MESSAGE,
    LEGACY_REQUEST_TYPE,
    REGISTERED_MESSAGE,
    LegacyEnqueueBody,
    LegacyEnqueued,
    LegacyLoginBody,
    LegacyMessage,
    LegacyQueueStatus,
    LegacyRegisterBody,
    LegacyToken,
    legacy_queue_status,
    legacy_token,
)

router = APIRouter(tags=["legacy"], deprecated=True)


def _passed_through(answer: AuthAnswer) -> Response:
    return Response(answer.body, status_code=answer.status, headers=answer.headers)


def _rejected(answer: AuthAnswer, fallback_code: str) -> Response:
    """Auth's refusal in the seeds' terms: 400 with auth's reason; 429 and 5xx unchanged."""
    if answer.status == 429 or answer.status >= 500:
        return _passed_through(answer)
    reason = answer.json()
    detail = HTTPStatus(answer.status).phrase
    code = fallback_code
    if isinstance(reason, dict):
        detail = str(reason.get("detail") or detail)
        code = str(reason.get("code") or code)
    return problem_response(400, code, detail)


@router.post(
    "/register",
    status_code=201,
    responses=problem_responses(400, 413, 422, 429, 503),
    response_model=LegacyMessage,
)
async def legacy_register(
    body: LegacyRegisterBody, request: Request, resources: Resources
) -> Response:
    """Register a user (seed API; use `POST /v1/auth/register`)."""
    answer = await resources.auth.post_json(
        "/v1/auth/register", body.auth_payload(), client_address(request)
    )
    if answer.status != 201:
        return _rejected(answer, "registration_failed")
    return JSONResponse(LegacyMessage(message=REGISTERED_MESSAGE).model_dump(), status_code=201)


@router.post(
    "/login",
    responses={200: {"model": LegacyToken}, **problem_responses(400, 413, 422, 429, 503)},
    response_model=None,
)
async def legacy_login(body: LegacyLoginBody, request: Request, resources: Resources) -> Response:
    """Log in and get a token (seed API; use `POST /v1/auth/login`)."""
    answer = await resources.auth.post_json(
        "/v1/auth/login", body.auth_payload(), client_address(request)
    )
    if answer.status != 200:
        return _rejected(answer, "login_failed")
    token = legacy_token(answer.json())
    if token is None:
        return problem_response(503, "unavailable", "auth answered without a token")
    return JSONResponse(token.model_dump())


@router.post("/enqueue", responses=problem_responses(400, 401, 413, 422, 429, 503))
async def legacy_enqueue(
    body: LegacyEnqueueBody, user: CurrentUser, resources: Resources
) -> LegacyEnqueued:
    """Enqueue `request` as an `echo` request (seed API; use `POST /v1/requests`)."""
    request = NewRequest(user.subject, LEGACY_REQUEST_TYPE, body.request)
    enqueued = await resources.enqueuer.enqueue(request)
    return LegacyEnqueued(message=ENQUEUED_MESSAGE, id=enqueued.message.id)


@router.get("/status", responses=problem_responses(401, 503))
async def legacy_status(user: CurrentUser, resources: Resources) -> LegacyQueueStatus:
    """Whether the caller has pending requests (seed API; use `GET /v1/queue`)."""
    queue = await resources.store.user_queue(user.subject)
    return legacy_queue_status(queue.open_count)
