"""Request-scoped dependencies: the app's clients and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lanes_common.problems import ApiProblem
from lanes_common.telemetry.log_context import bind_log_fields
from lanes_common.tokens import AccessClaims, InvalidTokenError
from lanes_gateway.resources import GatewayResources

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An access token from `POST /v1/auth/login`.",
)


def get_resources(request: Request) -> GatewayResources:
    """The clients opened in the lifespan."""
    resources = request.app.state.resources
    assert isinstance(resources, GatewayResources)
    return resources


Resources = Annotated[GatewayResources, Depends(get_resources)]


async def get_current_user(
    resources: Resources,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessClaims:
    """The caller, from a valid ``Authorization: Bearer`` access token; otherwise 401."""
    if credentials is None:
        raise ApiProblem(
            401,
            "unauthorized",
            "a bearer access token is required",
            headers={"WWW-Authenticate": 'Bearer realm="lanes"'},
        )
    try:
        claims = await resources.token_verifier.verify(credentials.credentials)
    except InvalidTokenError as exc:
        raise ApiProblem(
            401,
            "invalid_token",
            str(exc),
            # The reason is in the body; the header stays a fixed, well-formed value.
            headers={"WWW-Authenticate": 'Bearer realm="lanes", error="invalid_token"'},
        ) from exc
    bind_log_fields(user_id=claims.subject)
    return claims


VerifiedClaims = Annotated[AccessClaims, Depends(get_current_user)]


async def get_live_user(claims: VerifiedClaims, resources: Resources) -> AccessClaims:
    """The caller of a valid token whose account still exists; otherwise 401.

    Tokens are verified offline, so deleting an account cannot recall them;
    the gateway asks the list of deleted accounts instead (one lookup by id).
    """
    if await resources.deleted_users.contains(claims.subject):
        raise ApiProblem(
            401,
            "invalid_token",
            "the account of this token was deleted",
            headers={"WWW-Authenticate": 'Bearer realm="lanes", error="invalid_token"'},
        )
    return claims


CurrentUser = Annotated[AccessClaims, Depends(get_live_user)]
