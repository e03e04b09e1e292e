"""Where the gateway's domain errors become problem-details answers: in one handler."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pymongo.errors import PyMongoError

from lanes_common.problems import PROBLEM_MEDIA_TYPE, Problem, problem_response
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

logger = logging.getLogger(__name__)

# Outages are short-lived as a rule; clients may retry after a moment.
_RETRY_AFTER_SECONDS = "1"
# A full queue drains at the speed of the user's own requests: give it a few seconds.
QUOTA_RETRY_AFTER_SECONDS = "5"


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
            429, "quota_exceeded", str(exc), headers={"retry-after": QUOTA_RETRY_AFTER_SECONDS}
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
            headers={"retry-after": _RETRY_AFTER_SECONDS},
        )
    if isinstance(exc, UnforwardableRequestError):
        return problem_response(400, "bad_request", "the request's headers cannot be forwarded")
    if isinstance(exc, RequestNotCancellableError):
        return problem_response(409, "not_cancellable", str(exc))
    if isinstance(exc, NotReplayableError):
        return problem_response(409, "not_replayable", str(exc))
    if isinstance(exc, EnqueueUnavailableError | AuthUnavailableError):
        return problem_response(
            503, "unavailable", str(exc), headers={"retry-after": _RETRY_AFTER_SECONDS}
        )
    return problem_response(500, "internal_error", "internal server error")


async def _on_gateway_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    return _gateway_problem(exc)


async def _on_mongo_error(_: Request, exc: Exception) -> JSONResponse:
    # The status store is down or unreachable: an outage, not a bug. Nothing was accepted.
    logger.warning("mongo did not answer: %r", exc)
    return problem_response(
        503,
        "unavailable",
        "the status store is unavailable; try again",
        headers={"retry-after": _RETRY_AFTER_SECONDS},
    )


def install_gateway_problem_handler(app: FastAPI) -> None:
    """Answer the gateway's domain errors, and MongoDB outages, as problem details."""
    app.add_exception_handler(GatewayError, _on_gateway_error)
    app.add_exception_handler(PyMongoError, _on_mongo_error)


_REF_TEMPLATE = "#/components/schemas/{model}"
_PROBLEM_REF = _REF_TEMPLATE.format(model="Problem")
_DESCRIPTIONS = {
    400: "The body is not valid JSON (or, forwarded routes, a header is malformed).",
    401: "The bearer token is missing, invalid or expired, or its account was deleted.",
    404: "No such request among the caller's.",
    409: "A conflict with the current state; `code` says which.",
    413: "The body is larger than the limit.",
    422: "The input is invalid; `errors` names the fields.",
    429: "Too many requests; retry after `Retry-After` seconds.",
    503: "A dependency did not answer; nothing was accepted. Retry after `Retry-After`.",
}
_RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "The bearer challenge (RFC 6750).",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: {"Retry-After": {**_RETRY_AFTER, "required": True}},
    503: {"Retry-After": _RETRY_AFTER},
}


def problem_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem-details answers.

    ``descriptions`` replaces the generic text of a status, keyed ``s409`` and so on.
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        responses[status] = {
            "description": descriptions.get(f"s{status}", _DESCRIPTIONS[status]),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _PROBLEM_REF}}},
        }
        if status in _HEADERS:
            responses[status]["headers"] = _HEADERS[status]
    return responses


def _answer_validation_errors_as_problems(schema: dict[str, Any]) -> None:
    """Document the 422s FastAPI adds on its own as what the handler really sends: a Problem."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            content = responses.get("422", {}).get("content", {})
            if "application/json" in content:
                responses["422"] = problem_responses(422)[422]
    schemas = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def document_problem_schema(app: FastAPI) -> None:
    """Add the `Problem` schema that `problem_responses` refers to to the app's OpenAPI."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            _answer_validation_errors_as_problems(schema)
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = Problem.model_json_schema(ref_template=_REF_TEMPLATE)
            # The data of a server-sent status event, which FastAPI cannot see in a stream.
            schemas["StreamedStatus"] = StreamedStatus.model_json_schema(
                ref_template=_REF_TEMPLATE, mode="serialization"
            )
            app.openapi_schema = schema
        return app.openapi_schema

    # FastAPI's documented way to extend the generated schema.
    app.openapi = openapi  # type: ignore[method-assign]
