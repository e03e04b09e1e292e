"""The errors the auth service raises on purpose; the API edge maps them to HTTP."""

from __future__ import annotations

from lanes_common.errors import ConfigurationError, LanesError


class AuthError(LanesError):
    """Root of every deliberate auth-service error."""


class SigningKeyError(AuthError, ConfigurationError):
    """The signing keys cannot be loaded or created; the message names the setting to fix."""


class InvalidInputError(AuthError):
    """A request field is unacceptable for a reason its schema cannot express."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class PasswordPolicyError(InvalidInputError):
    """A new password breaks the policy; the message says which rule, never the password."""

    def __init__(self, message: str) -> None:
        super().__init__("password", message)


class UserExistsError(AuthError):
    """The username or email is already registered (compared case-insensitively)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is already registered")
        self.field = field


class InvalidCredentialsError(AuthError):
    """Unknown user or wrong password: deliberately the same error for both."""


class InvalidRefreshTokenError(AuthError):
    """The refresh token is unknown, expired, already used or revoked (one error for all)."""


class LoginThrottledError(AuthError):
    """Too many failed logins for this account or address; retry after ``retry_after`` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after} s")
        self.retry_after = retry_after
