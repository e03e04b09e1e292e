"""lanes-client: typed sync and async clients for the Lanes API."""

from lanes_client.aio import AsyncLanesClient
from lanes_client.client import LanesClient
from lanes_client.errors import (
    ApiError,
    BadRequestError,
    ConflictError,
    LanesClientError,
    NotFoundError,
    RateLimitedError,
    StreamError,
    TransportError,
    UnauthorizedError,
    UnavailableError,
    ValidationError,
)
from lanes_client.retries import RetryPolicy
from lanes_client.types import (
    EnqueuedRequest,
    QueueSummary,
    RequestState,
    RequestView,
    StatusEvent,
    StreamedStatus,
    Tokens,
)

__all__ = [
    "ApiError",
    "AsyncLanesClient",
    "BadRequestError",
    "ConflictError",
    "EnqueuedRequest",
    "LanesClient",
    "LanesClientError",
    "NotFoundError",
    "QueueSummary",
    "RateLimitedError",
    "RequestState",
    "RequestView",
    "RetryPolicy",
    "StatusEvent",
    "StreamError",
    "StreamedStatus",
    "Tokens",
    "TransportError",
    "UnauthorizedError",
    "UnavailableError",
    "ValidationError",
]
