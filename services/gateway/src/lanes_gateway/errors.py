"""The gateway's domain errors; `lanes_gateway.api.problems` turns them into HTTP answers."""

from __future__ import annotations

from lanes_common.errors import LanesError


class GatewayError(LanesError):
    """Root of the errors the gateway raises on purpose."""


class EnqueueUnavailableError(GatewayError):
    """Kafka did not acknowledge the request, so it was not accepted."""


class RequestNotFoundError(GatewayError):
    """No request with that id belongs to the caller (or the id is not an id at all)."""


class InvalidCursorError(GatewayError):
    """A pagination cursor that this gateway did not hand out."""


class AuthUnavailableError(GatewayError):
    """The auth service did not answer."""


class UnforwardableRequestError(GatewayError):
    """A request to forward to auth carries something HTTP cannot send on (a bad header)."""


class InvalidPayloadError(GatewayError):
    """The payload does not suit its (built-in) request type; ``errors`` names the fields."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


class QuotaExceededError(GatewayError):
    """The user already has as many queued requests as one user may."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} queued requests per user; wait for some to run")
        self.limit = limit


class IdempotencyKeyReusedError(GatewayError):
    """The Idempotency-Key already named a request with a different body."""


class IdempotencyKeyInProgressError(GatewayError):
    """The first request with this Idempotency-Key is still being accepted."""


class RequestNotCancellableError(GatewayError):
    """The request already started or finished, so it can no longer be cancelled."""

    def __init__(self, state: str) -> None:
        super().__init__(f"the request is {state}; only a queued request can be cancelled")
        self.state = state


class NotReplayableError(GatewayError):
    """Only a dead-lettered request can be replayed."""

    def __init__(self, state: str) -> None:
        super().__init__(f"the request is {state}; only a dead-lettered request can be replayed")
