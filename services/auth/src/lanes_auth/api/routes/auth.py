"""Accounts and tokens: register and log in."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from lanes_auth.api.errors import problem_responses
from lanes_auth.api.schemas import LoginRequest, RegisterRequest, RegisterResponse, TokenResponse
from lanes_auth.deps import AccessTokensDep, AccountsDep
from lanes_auth.errors import InvalidInputError

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=RegisterResponse,
    responses=problem_responses(400, 409, 422),
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
    responses=problem_responses(400, 401, 422),
)
async def login(
    body: LoginRequest, accounts: AccountsDep, access_tokens: AccessTokensDep, response: Response
) -> TokenResponse:
    """Exchange a username or email and its password for an access token."""
    login_name = body.login_name()
    if login_name is None:
        raise InvalidInputError("login", "one of login, username or email is required")
    user = await accounts.authenticate(login_name, body.password)
    issued = access_tokens.issue(user.id, user.username)
    # RFC 6749 §5.1: responses carrying tokens must not be cached.
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(
        access_token=issued.token, expires_in=issued.expires_in, token=issued.token
    )
