"""Where the gateway's domain errors become problem-details answers: in one handler."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lanes_common.http import problem_docs
from lanes_common.http.problems import (
    OUTAGE_RETRY_AFTER_SECONDS,
    problem_response,
    retry_after,
)
from lanes_gateway.errors import (
    AuthUnavailableError,
    EnqueueUnavailableError,
    GatewayError,
    IdempotencyKeyInProgressError,
    IdempotencyKeyReusedError,
    InvalidCursorError,
    InvalidPayloadError,
    NotReplayableError,
    QuotaExceededError,
    RequestNotCancellableError,
    RequestNotFoundError,
    UnforwardableRequestError,
)
from lanes_gateway.events.sse import StreamedStatus

# A full queue drains at the speed of the user's own requests: give it a few seconds.
QUOTA_RETRY_AFTER_SECONDS = 5


def _gateway_problem(exc: GatewayError) -> JSONResponse:
    if isinstance(exc, RequestNotFoundError):
        return problem_response(404, "not_found", "no such request")
    if isinstance(exc, InvalidCursorError):
        return problem_response(
            422,
            "validation_failed",
            "invalid input: query.cursor",
            errors=[{"field": "query.cursor", "message": str(exc)}],
        )
    if isinstance(exc, InvalidPayloadError):
        fields = ", ".join(error["field"] for error in exc.errors)
        return problem_response(
            422, "validation_failed", f"invalid input: {fields}", errors=list(exc.errors)
        )
    if isinstance(exc, QuotaExceededError):
        return problem_response(
            429, "quota_exceeded", str(exc), headers=retry_after(QUOTA_RETRY_AFTER_SECONDS)
        )
    if isinstance(exc, IdempotencyKeyReusedError):
        return problem_response(
            409,
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different body; use a new key",
        )
    if isinstance(exc, IdempotencyKeyInProgressError):
        return problem_response(
            409,
            "idempotency_key_in_progress",
            "a request with this Idempotency-Key is still being accepted; retry",
            headers=retry_after(OUTAGE_RETRY_AFTER_SECONDS),
        )
    if isinstance(exc, UnforwardableRequestError):
        return problem_response(400, "bad_request", "the request's headers cannot be forwarded")
    if isinstance(exc, RequestNotCancellableError):
        return problem_response(409, "not_cancellable", str(exc))
    if isinstance(exc, NotReplayableError):
        return problem_response(409, "not_replayable", str(exc))
    if isinstance(exc, EnqueueUnavailableError | AuthUnavailableError):
        return problem_response(
            503, "unavailable", str(exc), headers=retry_after(OUTAGE_RETRY_AFTER_SECONDS)
        )
    return problem_response(500, "internal_error", "internal server error")


async def on_gateway_error(_: Request, exc: Exception) -> JSONResponse:
    """The gateway's domain errors as problem details."""
    assert isinstance(exc, GatewayError)
    return _gateway_problem(exc)


PROBLEM_WORDING = {
    400: "The body is not valid JSON (or, forwarded routes, a header is malformed).",
    401: "The bearer token is missing, invalid or expired, or its account was deleted.",
    404: "No such request among the caller's.",
    409: "A conflict with the current state; `code` says which.",
    413: "The body is larger than the limit.",
    422: "The input is invalid; `errors` names the fields.",
    429: "Too many requests; retry after `Retry-After` seconds.",
    503: "A dependency did not answer; retry after `Retry-After`. An enqueue may still have "
    "reached Kafka: retry it with the same `Idempotency-Key`.",
}
"""What each error status means on the gateway's routes, as its OpenAPI document says."""


def problem_responses(*statuses: int, **descriptions: str) -> problem_docs.Responses:
    """OpenAPI ``responses`` entries documenting problem-details answers.

    ``descriptions`` replaces the generic text of a status, keyed ``s409`` and so on.
    """
    return problem_docs.problem_responses(PROBLEM_WORDING, statuses, descriptions)


def document_problem_schema(app: FastAPI) -> None:
    """Add the `Problem` schema, and `StreamedStatus` (FastAPI cannot see it in a stream)."""
    problem_docs.document_problems(app, PROBLEM_WORDING, unseen_models=[StreamedStatus])
