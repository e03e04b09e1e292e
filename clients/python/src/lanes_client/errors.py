"""Errors the client raises; API errors carry the problem document's ``code``."""

from __future__ import annotations

from typing import Any


class LanesClientError(Exception):
    """Root of everything this package raises."""


class TransportError(LanesClientError):
    """The server could not be reached (after the retries that were safe)."""


class StreamError(LanesClientError):
    """An event stream ended with an ``error`` event (``code``: why)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class ApiError(LanesClientError):
    """The API answered with a problem document (RFC 9457)."""

    def __init__(self, status: int, code: str, detail: str, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.problem = problem


class BadRequestError(ApiError):
    """400: the request is malformed."""


class UnauthorizedError(ApiError):
    """401: no valid token (and refreshing did not help)."""


class NotFoundError(ApiError):
    """404: no such request among the caller's."""


class ConflictError(ApiError):
    """409: e.g. ``not_cancellable``, ``idempotency_key_reused``, ``not_replayable``."""


class ValidationError(ApiError):
    """422: the input is invalid; ``problem["errors"]`` names the fields."""


class RateLimitedError(ApiError):
    """429: too many queued requests or streams; ``retry_after`` seconds to wait."""

    retry_after: float | None = None


class UnavailableError(ApiError):
    """503: a dependency of the server did not answer; nothing was accepted."""

    retry_after: float | None = None


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitedError,
    503: UnavailableError,
}


def api_error(status: int, body: Any, retry_after: float | None) -> ApiError:
    """The typed error for an answer with ``status`` and (ideally) a problem body."""
    problem = body if isinstance(body, dict) else {}
    if "error" in problem and isinstance(problem["error"], dict):  # {"error": {code, message}}
        problem = {**problem["error"], "detail": problem["error"].get("message", "")}
    code = str(problem.get("code") or "error")
    detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
    error = _BY_STATUS.get(status, ApiError)(status, code, detail, problem)
    if isinstance(error, RateLimitedError | UnavailableError):
        error.retry_after = retry_after
    return error
