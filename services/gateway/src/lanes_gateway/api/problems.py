"""Where the gateway's domain errors become problem-details answers: in one handler."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lanes_common.problems import PROBLEM_MEDIA_TYPE, Problem, problem_response
from lanes_gateway.errors import (
    AuthUnavailableError,
    EnqueueUnavailableError,
    GatewayError,
    InvalidCursorError,
    RequestNotFoundError,
)

# Both outages are short-lived as a rule; clients may retry after a moment.
_RETRY_AFTER_SECONDS = "1"


async def _on_gateway_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    if isinstance(exc, RequestNotFoundError):
        return problem_response(404, "not_found", "no such request")
    if isinstance(exc, InvalidCursorError):
        return problem_response(
            422,
            "validation_failed",
            "invalid input: query.cursor",
            errors=[{"field": "query.cursor", "message": str(exc)}],
        )
    if isinstance(exc, EnqueueUnavailableError | AuthUnavailableError):
        return problem_response(
            503, "unavailable", str(exc), headers={"retry-after": _RETRY_AFTER_SECONDS}
        )
    return problem_response(500, "internal_error", "internal server error")


def install_gateway_problem_handler(app: FastAPI) -> None:
    """Answer the gateway's domain errors as problem details."""
    app.add_exception_handler(GatewayError, _on_gateway_error)


_REF_TEMPLATE = "#/components/schemas/{model}"
_PROBLEM_REF = _REF_TEMPLATE.format(model="Problem")
_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "The bearer token is missing, invalid or expired.",
    404: "No such request among the caller's.",
    413: "The body is larger than the limit.",
    422: "The input is invalid; `errors` names the fields.",
    429: "Too many attempts; see `Retry-After`.",
    503: "A dependency did not answer; nothing was accepted. Retry after `Retry-After`.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem-details answers."""
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _PROBLEM_REF}}},
        }
        for status in statuses
    }


def document_problem_schema(app: FastAPI) -> None:
    """Add the `Problem` schema that `problem_responses` refers to to the app's OpenAPI."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = Problem.model_json_schema(ref_template=_REF_TEMPLATE)
            app.openapi_schema = schema
        return app.openapi_schema

    # FastAPI's documented way to extend the generated schema.
    app.openapi = openapi  # type: ignore[method-assign]
