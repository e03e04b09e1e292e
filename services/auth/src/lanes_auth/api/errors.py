"""Where auth's domain errors become problem-details responses, and how they are documented."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pymongo.errors import PyMongoError

from lanes_auth.errors import (
    AuthError,
    InvalidCredentialsError,
    InvalidInputError,
    InvalidRefreshTokenError,
    LoginThrottledError,
    UserExistsError,
)
from lanes_common.problems import PROBLEM_MEDIA_TYPE, Problem, problem_response

logger = logging.getLogger(__name__)

# One message for unknown users and wrong passwords: the answer must not reveal which.
INVALID_CREDENTIALS_DETAIL = "invalid login name or password"


async def _on_auth_error(_: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, InvalidInputError):
        field = f"body.{exc.field}"
        return problem_response(
            422,
            "validation_failed",
            f"invalid input: {field}",
            None,
            [{"field": field, "message": exc.message}],
        )
    if isinstance(exc, UserExistsError):
        return problem_response(409, "user_exists", str(exc))
    if isinstance(exc, InvalidCredentialsError):
        return problem_response(401, "invalid_credentials", INVALID_CREDENTIALS_DETAIL)
    if isinstance(exc, InvalidRefreshTokenError):
        return problem_response(
            401, "invalid_refresh_token", "refresh token is invalid, expired or revoked"
        )
    if isinstance(exc, LoginThrottledError):
        return problem_response(
            429,
            "too_many_attempts",
            "too many failed logins; try again later",
            {"Retry-After": str(exc.retry_after)},
        )
    # An AuthError nobody mapped is a bug: answer like any unexpected error.
    logger.error("unmapped auth error", exc_info=exc)
    return problem_response(500, "internal_error", "internal server error")


async def _on_mongo_error(_: Request, exc: Exception) -> JSONResponse:
    # MongoDB is down or unreachable: an outage to retry, not a bug.
    logger.warning("mongo did not answer: %r", exc)
    return problem_response(
        503, "unavailable", "the user store is unavailable; try again", {"Retry-After": "1"}
    )


def install_auth_error_handlers(app: FastAPI) -> None:
    """Answer auth's domain errors, and MongoDB outages, as problem details."""
    app.add_exception_handler(AuthError, _on_auth_error)
    app.add_exception_handler(PyMongoError, _on_mongo_error)


_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "The credentials or token are not valid (without saying which part is wrong).",
    409: "The username or email is already registered.",
    422: "A field is missing or invalid; `errors` names it.",
    429: "Too many failed logins for this account or address; retry after `Retry-After` s.",
    503: "MongoDB did not answer; nothing changed. Retry after `Retry-After` s.",
}


_HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": "The bearer challenge (RFC 6750), on routes that take a bearer token.",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "required": True,
            "schema": {"type": "integer"},
        }
    },
    503: {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "integer"},
        }
    },
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses answered as problem details."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        responses[status] = {
            "description": _DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {
                PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}},
            },
        }
        if status in _HEADERS:
            responses[status]["headers"] = _HEADERS[status]
    return responses


def document_problem_schema(app: FastAPI) -> None:
    """Add the `Problem` schema that `problem_responses` refers to to the app's OpenAPI."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
