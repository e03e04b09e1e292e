"""Where auth's domain errors become problem-details responses, and how they are documented."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import JSONResponse

from lanes_auth.errors import (
    InvalidCredentialsError,
    InvalidInputError,
    InvalidRefreshTokenError,
    LoginThrottledError,
    UserExistsError,
)
from lanes_common.http import problem_docs
from lanes_common.http.problems import problem_response, retry_after

logger = logging.getLogger(__name__)

# One message for unknown users and wrong passwords: the answer must not reveal which.
INVALID_CREDENTIALS_DETAIL = "invalid login name or password"


async def on_auth_error(_: Request, exc: Exception) -> JSONResponse:
    """Auth's domain errors as problem details."""
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
            retry_after(exc.retry_after),
        )
    # An AuthError nobody mapped is a bug: answer like any unexpected error.
    logger.error("unmapped auth error", exc_info=exc)
    return problem_response(500, "internal_error", "internal server error")


PROBLEM_WORDING = {
    400: "The body is not valid JSON.",
    401: "The credentials or token are not valid (without saying which part is wrong).",
    409: "The username or email is already registered.",
    422: "A field is missing or invalid; `errors` names it.",
    429: "Too many failed logins for this account or address; retry after `Retry-After` s.",
    503: "MongoDB did not answer; the change may or may not have been made. Retry after "
    "`Retry-After` s. A refresh retried after a 503 is refused (401) if the first try "
    "spent the token; log in again then.",
}
"""What each error status means on auth's routes, as its OpenAPI document says."""


def problem_responses(*statuses: int) -> problem_docs.Responses:
    """OpenAPI ``responses`` entries for error statuses answered as problem details."""
    return problem_docs.problem_responses(PROBLEM_WORDING, statuses, {})
