"""Where auth's domain errors become problem-details responses, and how they are documented."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lanes_auth.errors import AuthError, InvalidCredentialsError, InvalidInputError, UserExistsError
from lanes_common.problems import PROBLEM_MEDIA_TYPE, Problem, problem_response

logger = logging.getLogger(__name__)

# One message for unknown users and wrong passwords: the answer must not reveal which.
INVALID_CREDENTIALS_DETAIL = "invalid login name or password"


async def _on_auth_error(_: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, InvalidInputError):
        field = f"body.{exc.field}"
        return problem_response(
            422, "validation_failed", f"invalid input: {field}", None,
            [{"field": field, "message": exc.message}],
        )
    if isinstance(exc, UserExistsError):
        return problem_response(409, "user_exists", str(exc))
    if isinstance(exc, InvalidCredentialsError):
        return problem_response(401, "invalid_credentials", INVALID_CREDENTIALS_DETAIL)
    # An AuthError nobody mapped is a bug: answer like any unexpected error.
    logger.error("unmapped auth error", exc_info=exc)
    return problem_response(500, "internal_error", "internal server error")


def install_auth_error_handlers(app: FastAPI) -> None:
    """Answer auth's domain errors as problem details (after `install_problem_handlers`)."""
    app.add_exception_handler(AuthError, _on_auth_error)


_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "Unknown login name or wrong password (deliberately indistinguishable).",
    409: "The username or email is already registered.",
    422: "A field is missing or invalid; `errors` names it.",
    429: "Too many attempts; retry after `Retry-After` seconds.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses answered as problem details."""
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {
                PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}},
            },
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
            schemas["Problem"] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
