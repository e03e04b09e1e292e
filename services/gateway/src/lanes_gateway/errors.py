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
