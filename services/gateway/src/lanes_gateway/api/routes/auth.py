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


def _proxy(name: str, summary: str, success: int, method: str = "POST") -> None:
    path = f"/{name}"
    deletes_account = method == "DELETE" and name == "me"

    async def endpoint(request: Request, resources: Resources) -> Response:
        response = await forward_to_auth(request, resources, f"{router.prefix}{path}", method)
        if deletes_account and response.status_code == success:
            await remember_deleted_account(request, resources)
        return response

    answered: dict[str, Any] = {"description": "Auth's success answer, passed through."}
    if success != 204:
        answered["content"] = {"application/json": {}}
    router.add_api_route(
        path,
        endpoint,
        methods=[method],
        name=f"auth_{name}" if method == "POST" else f"auth_{method.lower()}_{name}",
        summary=summary,
        status_code=success,
        # Auth reads the bearer token of `DELETE /me` itself; the gateway only documents it.
        openapi_extra=_JSON_BODY if method == "POST" else {"security": [{"bearer": []}]},
        responses={
            success: answered,
            "default": _PASSED_THROUGH,
            **problem_responses(400, 413, 503),
        },
        response_class=Response,
    )


_proxy("register", "Register a user (forwarded to auth).", 201)
_proxy("login", "Log in and get an access token (forwarded to auth).", 200)
_proxy("refresh", "Exchange a refresh token for new tokens (forwarded to auth).", 200)
_proxy("logout", "Revoke a refresh token (forwarded to auth).", 204)
_proxy("me", "Delete the caller's account (forwarded to auth).", 204, method="DELETE")
