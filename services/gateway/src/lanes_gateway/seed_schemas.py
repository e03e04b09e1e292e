"""The request and response shapes of the seed APIs, and how they map onto ``/v1``.

Clients written against the earlier Node.js designs send ``{name, email,
password}``, ``{username, password}`` or ``{email, password}`` and expect
``{"message": ...}``, ``{"token": ...}`` and ``{"queueStatus",
"pendingRequests"}`` back. Unknown fields are ignored, as those servers did.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lanes_gateway.schemas import Payload

LEGACY_REQUEST_TYPE = "echo"
REGISTERED_MESSAGE = "User registered successfully"
ENQUEUED_MESSAGE = "Request enqueued successfully"


class _Credentials(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: str | None = Field(default=None, max_length=256)
    email: str | None = Field(default=None, max_length=320)
    password: str = Field(max_length=1024)

    @model_validator(mode="after")
    def _names_someone(self) -> _Credentials:
        if not self.username and not self.email:
            raise ValueError("username or email is required")
        return self

    def auth_payload(self) -> dict[str, str]:
        """The body for auth's ``/v1/auth/*`` endpoint: only the fields given."""
        payload = {"password": self.password}
        if self.username:
            payload["username"] = self.username
        if self.email:
            payload["email"] = self.email
        return payload


class LegacyRegisterBody(_Credentials):
    """``{name, email, password}`` or ``{username, password}``.

    ``name`` is a display name in the seeds (it may hold spaces), so it goes to
    auth as the display name, not as the username; those users log in by email.
    """

    name: str | None = Field(default=None, max_length=200)

    def auth_payload(self) -> dict[str, str]:
        """The body for auth's ``/v1/auth/register``: only the fields given."""
        payload = super().auth_payload()
        if self.name:
            payload["name"] = self.name
        return payload


class LegacyLoginBody(_Credentials):
    """``{username, password}`` or ``{email, password}``."""


class LegacyEnqueueBody(BaseModel):
    """``{"request": <any JSON>}``."""

    model_config = ConfigDict(extra="ignore")

    request: Payload


class LegacyMessage(BaseModel):
    """A bare confirmation, as the seed servers sent."""

    message: str


class LegacyEnqueued(BaseModel):
    """The seeds' confirmation, plus the request id for ``GET /v1/requests/{id}``."""

    message: str
    id: str


class LegacyToken(BaseModel):
    """``{"token": ...}`` as the seeds answer, plus the OAuth-style fields."""

    token: str
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int | None = None


class LegacyQueueStatus(BaseModel):
    """Whether the caller has unfinished requests, and how many (the seeds' camelCase names)."""

    queueStatus: Literal["pending", "empty"]
    pendingRequests: int


def legacy_token(login_answer: Any) -> LegacyToken | None:
    """The seed-style token answer from auth's login answer; None if it holds no token."""
    if not isinstance(login_answer, dict):
        return None
    access_token = login_answer.get("access_token") or login_answer.get("token")
    if not isinstance(access_token, str):
        return None
    expires_in = login_answer.get("expires_in")
    return LegacyToken(
        token=access_token,
        access_token=access_token,
        token_type=str(login_answer.get("token_type") or "bearer"),
        expires_in=expires_in if isinstance(expires_in, int) else None,
    )


def legacy_queue_status(pending: int) -> LegacyQueueStatus:
    """``pending`` with the count while anything is unfinished, else ``empty``."""
    return LegacyQueueStatus(
        queueStatus="pending" if pending > 0 else "empty", pendingRequests=pending
    )
