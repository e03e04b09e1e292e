"""What route handlers receive: the resources the lifespan opened, as typed dependencies."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lanes_auth.accounts import Accounts
from lanes_auth.deletion import AccountDeletion
from lanes_auth.keys import KeyRing
from lanes_auth.resources import AuthResources
from lanes_auth.sessions import Sessions
from lanes_common.problems import ApiProblem
from lanes_common.tokens import InvalidTokenError

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An access token from `POST /v1/auth/login`.",
)
_CHALLENGE = 'Bearer realm="lanes"'
_INVALID_TOKEN_CHALLENGE = 'Bearer realm="lanes", error="invalid_token"'  # noqa: S105 (no secret)


def get_resources(request: Request) -> AuthResources:
    """The resources of the app serving ``request``."""
    return cast(AuthResources, request.app.state.resources)


def get_accounts(request: Request) -> Accounts:
    """Registration and login."""
    return get_resources(request).accounts


def get_sessions(request: Request) -> Sessions:
    """Login sessions: token pairs, refresh and logout."""
    return get_resources(request).sessions


def get_key_ring(request: Request) -> KeyRing:
    """The live signing keys."""
    return get_resources(request).keys


def get_account_deletion(request: Request) -> AccountDeletion:
    """Account deletion."""
    return get_resources(request).deletion


async def get_current_user_id(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The user id of a valid ``Authorization: Bearer`` access token; otherwise 401."""
    if credentials is None:
        raise ApiProblem(
            401,
            "unauthorized",
            "a bearer access token is required",
            headers={"WWW-Authenticate": _CHALLENGE},
        )
    try:
        claims = await get_resources(request).token_verifier.verify(credentials.credentials)
    except InvalidTokenError as exc:
        raise ApiProblem(
            401, "invalid_token", str(exc), headers={"WWW-Authenticate": _INVALID_TOKEN_CHALLENGE}
        ) from exc
    return claims.subject


def account_gone() -> ApiProblem:
    """The 401 for a valid token whose account no longer exists."""
    return ApiProblem(
        401,
        "invalid_token",
        "the account of this token no longer exists",
        headers={"WWW-Authenticate": _INVALID_TOKEN_CHALLENGE},
    )


AccountsDep = Annotated[Accounts, Depends(get_accounts)]
AccountDeletionDep = Annotated[AccountDeletion, Depends(get_account_deletion)]
CurrentUserId = Annotated[str, Depends(get_current_user_id)]
SessionsDep = Annotated[Sessions, Depends(get_sessions)]
KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]
