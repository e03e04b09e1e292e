"""Bearer tokens at the edge: read ``Authorization: Bearer``, verify it, or answer 401.

Every 401 carries a ``WWW-Authenticate`` challenge (RFC 6750 §3), which the
FastAPI default (403, no challenge) does not. The reason a token was refused
goes in the problem's body; the header stays a fixed, well-formed value.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lanes_common.http.problems import ApiProblem
from lanes_common.tokens import AccessClaims, InvalidTokenError, TokenVerifier

bearer_scheme = HTTPBearer(
    # Without a token the answer is our 401 with a challenge, not FastAPI's 403.
    auto_error=False,
    scheme_name="bearer",
    description="An access token from `POST /v1/auth/login`.",
)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
"""The request's bearer token, if it sent one; documents the scheme in OpenAPI."""

_CHALLENGE = 'Bearer realm="lanes"'
_INVALID_TOKEN_CHALLENGE = 'Bearer realm="lanes", error="invalid_token"'  # noqa: S105 (no secret)


def invalid_token(detail: str) -> ApiProblem:
    """The 401 for a token that came but cannot be accepted; ``detail`` says why."""
    return ApiProblem(
        401, "invalid_token", detail, headers={"WWW-Authenticate": _INVALID_TOKEN_CHALLENGE}
    )


async def verify_bearer(
    verifier: TokenVerifier, credentials: HTTPAuthorizationCredentials | None
) -> AccessClaims:
    """The claims of a valid bearer access token; otherwise a 401 `ApiProblem`."""
    if credentials is None:
        raise ApiProblem(
            401,
            "unauthorized",
            "a bearer access token is required",
            headers={"WWW-Authenticate": _CHALLENGE},
        )
    try:
        return await verifier.verify(credentials.credentials)
    except InvalidTokenError as exc:
        raise invalid_token(str(exc)) from exc
