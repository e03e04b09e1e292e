"""Accounts and sessions: register, log in, refresh, log out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from lanes_auth.api.errors import problem_responses
from lanes_auth.api.schemas import (
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    RegisterResponse,
    TokenResponse,
)
from lanes_auth.deps import (
    AccountDeletionDep,
    AccountsDep,
    CurrentUserId,
    SessionsDep,
    account_gone,
)
from lanes_auth.errors import InvalidInputError
from lanes_auth.sessions import TokenPair

router = APIRouter(prefix="/v1/auth", tags=["auth"])


def _token_response(pair: TokenPair, response: Response) -> TokenResponse:
    # RFC 6749 §5.1: responses carrying tokens must not be cached.
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(
        access_token=pair.access.token,
        expires_in=pair.access.expires_in,
        token=pair.access.token,
        refresh_token=pair.refresh.token,
        refresh_expires_in=pair.refresh.expires_in,
    )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=RegisterResponse,
    responses=problem_responses(400, 409, 422, 503),
)
async def register(body: RegisterRequest, accounts: AccountsDep) -> RegisterResponse:
    """Create an account with a username and/or an email, and a password."""
    user = await accounts.register(
        username=body.username, email=body.email, name=body.name, password=body.password
    )
    return RegisterResponse(id=user.id, username=user.username, email=user.email)


@router.post(
    "/login",
    response_model=TokenResponse,
    responses=problem_responses(400, 401, 422, 429, 503),
)
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    accounts: AccountsDep,
    sessions: SessionsDep,
) -> TokenResponse:
    """Exchange a username or email and its password for an access and a refresh token."""
    login_name = body.login_name()
    if login_name is None:
        raise InvalidInputError("login", "one of login, username or email is required")
    # uvicorn has already replaced this with X-Forwarded-For when a trusted proxy sent it.
    client_address = request.client.host if request.client else None
    user = await accounts.authenticate(login_name, body.password, client_address)
    return _token_response(await sessions.start(user), response)


@router.post(
    "/refresh",
    response_model=TokenResponse,
    responses=problem_responses(400, 401, 422, 503),
)
async def refresh(body: RefreshRequest, response: Response, sessions: SessionsDep) -> TokenResponse:
    """Spend a refresh token for a new access and refresh token (each refresh token works once)."""
    return _token_response(await sessions.renew(body.refresh_token), response)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(400, 422, 503),
)
async def logout(body: LogoutRequest, sessions: SessionsDep) -> Response:
    """End the session of a refresh token; an unknown token is ignored."""
    await sessions.end(body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 503),
)
async def delete_me(user_id: CurrentUserId, deletion: AccountDeletionDep) -> Response:
    """Delete the caller's account: it can no longer log in, refresh, or use its tokens."""
    if not await deletion.delete(user_id):
        raise account_gone()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
