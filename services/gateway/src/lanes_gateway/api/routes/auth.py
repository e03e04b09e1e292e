"""``/v1/auth/*`` forwarded to the auth service, so clients need one base URL.

Status, body and the headers clients rely on (``Retry-After``,
``WWW-Authenticate``) pass through unchanged; auth owns the contract.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from lanes_common.tokens import InvalidTokenError
from lanes_gateway.api.problems import problem_responses
from lanes_gateway.deps import Resources

router = APIRouter(prefix="/v1/auth", tags=["auth"])

_JSON_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
_PASSED_THROUGH = {
    "description": "Auth's answer, passed through (see the auth service's API).",
    "content": {"application/json": {}, "application/problem+json": {}},
}


def client_address(request: Request) -> str | None:
    """The caller's address as the server saw it."""
    return request.client.host if request.client else None


async def forward_to_auth(
    request: Request, resources: Resources, path: str, method: str = "POST"
) -> Response:
    """Send the request's body to auth's ``path`` and answer what auth answered."""
    answer = await resources.auth.forward(
        path, await request.body(), request.headers, client_address(request), method
    )
    return Response(answer.body, status_code=answer.status, headers=answer.headers)


async def remember_deleted_account(request: Request, resources: Resources) -> None:
    """Auth deleted the bearer's account: refuse its tokens here at once, not after the cache."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return
    try:
        claims = await resources.token_verifier.verify(token.strip())
    except InvalidTokenError:
        return  # auth accepted it; whatever this gateway thinks, other checks still apply
    resources.deleted_users.mark_deleted(claims.subject)


def _forwarded(
    summary: str, success: int, openapi_extra: dict[str, Any] = _JSON_BODY
) -> dict[str, Any]:
    """The options of a forwarded route: auth's answers, passed through."""
    answered: dict[str, Any] = {"description": "Auth's success answer, passed through."}
    if success != 204:
        answered["content"] = {"application/json": {}}
    return {
        "summary": summary,
        "status_code": success,
        "responses": {
            success: answered,
            "default": _PASSED_THROUGH,
            **problem_responses(400, 413, 503),
        },
        "response_class": Response,
        "openapi_extra": openapi_extra,
    }


@router.post(
    "/register",
    **_forwarded("Register a user (forwarded to auth).", 201),
)
async def auth_register(request: Request, resources: Resources) -> Response:
    """Auth's `POST /v1/auth/register`, answered as auth answered."""
    return await forward_to_auth(request, resources, "/v1/auth/register")


@router.post(
    "/login",
    **_forwarded("Log in and get an access token (forwarded to auth).", 200),
)
async def auth_login(request: Request, resources: Resources) -> Response:
    """Auth's `POST /v1/auth/login`, answered as auth answered."""
    return await forward_to_auth(request, resources, "/v1/auth/login")


@router.post(
    "/refresh",
    **_forwarded("Exchange a refresh token for new tokens (forwarded to auth).", 200),
)
async def auth_refresh(request: Request, resources: Resources) -> Response:
    """Auth's `POST /v1/auth/refresh`, answered as auth answered."""
    return await forward_to_auth(request, resources, "/v1/auth/refresh")


@router.post(
    "/logout",
    **_forwarded("Revoke a refresh token (forwarded to auth).", 204),
)
async def auth_logout(request: Request, resources: Resources) -> Response:
    """Auth's `POST /v1/auth/logout`, answered as auth answered."""
    return await forward_to_auth(request, resources, "/v1/auth/logout")


@router.delete(
    "/me",
    # Auth reads the bearer token itself; the gateway only documents it.
    **_forwarded(
        "Delete the caller's account (forwarded to auth).", 204, {"security": [{"bearer": []}]}
    ),
)
async def auth_delete_me(request: Request, resources: Resources) -> Response:
    """Auth's `DELETE /v1/auth/me`; a deleted account's tokens stop working here at once."""
    response = await forward_to_auth(request, resources, "/v1/auth/me", method="DELETE")
    if response.status_code == 204:
        await remember_deleted_account(request, resources)
    return response
