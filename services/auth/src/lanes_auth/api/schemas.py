"""Request and response bodies of the auth API, as documented in its OpenAPI page."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from lanes_auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from lanes_auth.refresh import MAX_REFRESH_TOKEN_LENGTH

MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$"

Username = Annotated[
    str,
    Field(
        pattern=USERNAME_PATTERN,
        description="3 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit; "
        "unique regardless of case.",
        examples=["alice"],
    ),
]
Email = Annotated[
    EmailStr,
    Field(
        max_length=MAX_EMAIL_LENGTH,
        description="Unique regardless of case.",
        examples=["alice@example.com"],
    ),
]


# repr=False keeps passwords out of any repr that could reach a log.
_PASSWORD_SCHEMA = {"format": "password", "writeOnly": True}
NewPassword = Annotated[
    str,
    Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        repr=False,
        json_schema_extra=_PASSWORD_SCHEMA,
        description=f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters, "
        "not the username or email.",
    ),
]
Password = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_PASSWORD_LENGTH,
        repr=False,
        json_schema_extra=_PASSWORD_SCHEMA,
    ),
]


class RegisterRequest(BaseModel):
    """A new account: a username, an email or both, and a password."""

    model_config = ConfigDict(extra="ignore")

    username: Username | None = None
    email: Email | None = None
    name: str | None = Field(default=None, max_length=200, description="Display name.")
    password: NewPassword


class RegisterResponse(BaseModel):
    """The account that was created."""

    id: str = Field(description="The user id: the `sub` claim of this user's tokens.")
    username: str | None
    email: str | None


class LoginRequest(BaseModel):
    """Credentials: the login name in ``login``, ``username`` or ``email``, and the password."""

    model_config = ConfigDict(extra="ignore")

    login: str | None = Field(
        default=None, min_length=1, max_length=MAX_EMAIL_LENGTH, description="Username or email."
    )
    username: str | None = Field(default=None, min_length=1, max_length=MAX_EMAIL_LENGTH)
    email: str | None = Field(default=None, min_length=1, max_length=MAX_EMAIL_LENGTH)
    password: Password

    def login_name(self) -> str | None:
        """The name to look the account up by: ``login``, else ``username``, else ``email``."""
        return self.login or self.username or self.email


class TokenResponse(BaseModel):
    """An access and a refresh token, in the OAuth 2 shape plus ``token`` for older clients."""

    access_token: str = Field(description="EdDSA-signed JWT; send it as `Authorization: Bearer`.")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  (the OAuth 2 token type, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires.")
    token: str = Field(description="The same JWT as `access_token`, for legacy clients.")
    refresh_token: str = Field(
        description="Opaque; `POST /v1/auth/refresh` spends it for a new pair. Single use."
    )
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires.")


RefreshToken = Annotated[str, Field(min_length=1, max_length=MAX_REFRESH_TOKEN_LENGTH, repr=False)]


class RefreshRequest(BaseModel):
    """A refresh token to spend."""

    model_config = ConfigDict(extra="ignore")

    refresh_token: RefreshToken


class LogoutRequest(BaseModel):
    """The refresh token of the session to end."""

    model_config = ConfigDict(extra="ignore")

    refresh_token: RefreshToken


class Jwk(BaseModel):
    """One public signing key (RFC 8037 OKP key)."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str
    use: Literal["sig"]
    alg: Literal["EdDSA"]
    kid: str = Field(description="RFC 7638 thumbprint of the key.")


class Jwks(BaseModel):
    """Every live public signing key; tokens name theirs in the `kid` header."""

    keys: list[Jwk]
