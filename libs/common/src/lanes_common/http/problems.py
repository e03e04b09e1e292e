"""One error shape for every HTTP API: RFC 9457 problem details.

Domain code raises `ApiProblem` (or lets validation fail); these handlers turn
it into ``application/problem+json`` with a stable ``code``. A MongoDB error is
an outage of the service's store: 503 with ``Retry-After``. Unexpected
exceptions become a bare 500 without a stack trace, and are logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo.errors import PyMongoError
from starlette.exceptions import HTTPException as StarletteHTTPException

from lanes_common.errors import LanesError

logger = logging.getLogger(__name__)

ExceptionHandler = Callable[[Request, Exception], Awaitable[JSONResponse]]

PROBLEM_MEDIA_TYPE = "application/problem+json"
OUTAGE_RETRY_AFTER_SECONDS = 1
"""Outages are short-lived as a rule; clients may retry after a moment."""


def retry_after(seconds: int) -> dict[str, str]:
    """The ``Retry-After`` header: delay-seconds, a non-negative integer (RFC 9110 §10.2.3)."""
    if seconds < 0:
        raise ValueError(f"Retry-After must not be negative, got {seconds}")
    return {"Retry-After": str(seconds)}


class Problem(BaseModel):
    """RFC 9457 problem details, with a machine-readable ``code``."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None


class ApiProblem(LanesError):
    """An error meant for the client: status, stable code and a human message."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})


def problem_response(
    status: int,
    code: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    """Render a problem as ``application/problem+json``."""
    problem = Problem(
        title=HTTPStatus(status).phrase, status=status, detail=detail, code=code, errors=errors
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_MEDIA_TYPE,
    )


_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    503: "unavailable",
}


async def _on_api_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(exc.status, exc.code, exc.detail, exc.headers)


async def _on_http_exception(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODES_BY_STATUS.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, code, detail, exc.headers)


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
        for err in exc.errors()
    ]
    if any(err.get("type") == "json_invalid" for err in exc.errors()):
        return problem_response(
            400, "malformed_json", "request body is not valid JSON", None, errors
        )
    fields = ", ".join(e["field"] for e in errors) or "body"
    return problem_response(422, "validation_failed", f"invalid input: {fields}", None, errors)


def _on_store_outage(store_name: str) -> ExceptionHandler:
    async def on_mongo_error(_: Request, exc: Exception) -> JSONResponse:
        # MongoDB is down or unreachable: an outage to retry, not a bug.
        logger.warning("mongo did not answer: %r", exc)
        return problem_response(
            503,
            "unavailable",
            f"the {store_name} is unavailable; try again",
            retry_after(OUTAGE_RETRY_AFTER_SECONDS),
        )

    return on_mongo_error


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error", exc_info=exc)
    return problem_response(500, "internal_error", "internal server error")


def install_problem_handlers(
    app: FastAPI,
    *,
    store_name: str,
    domain_errors: Mapping[type[Exception], ExceptionHandler] | None = None,
) -> None:
    """Make every error this app answers a problem-details document.

    ``store_name`` names the MongoDB store in the 503 of an outage ("user
    store"); ``domain_errors`` are the service's own handlers, by the root
    exception of its package.
    """
    for error, handler in (domain_errors or {}).items():
        app.add_exception_handler(error, handler)
    app.add_exception_handler(ApiProblem, _on_api_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(PyMongoError, _on_store_outage(store_name))
    app.add_exception_handler(Exception, _on_unexpected)
