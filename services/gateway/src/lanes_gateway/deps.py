"""Request-scoped dependencies: the app's clients and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from lanes_common.http.bearer import BearerCredentials, invalid_token, verify_bearer
from lanes_common.http.state import resources_dependency
from lanes_common.telemetry.log_context import bind_log_fields
from lanes_common.tokens import AccessClaims
from lanes_gateway.resources import GatewayResources

get_resources = resources_dependency(GatewayResources)
Resources = Annotated[GatewayResources, Depends(get_resources)]


async def get_current_user(resources: Resources, credentials: BearerCredentials) -> AccessClaims:
    """The caller, from a valid ``Authorization: Bearer`` access token; otherwise 401."""
    claims = await verify_bearer(resources.token_verifier, credentials)
    bind_log_fields(user_id=claims.subject)
    return claims


VerifiedClaims = Annotated[AccessClaims, Depends(get_current_user)]


async def get_live_user(claims: VerifiedClaims, resources: Resources) -> AccessClaims:
    """The caller of a valid token whose account still exists; otherwise 401.

    Tokens are verified offline, so deleting an account cannot recall them;
    the gateway asks the list of deleted accounts instead (one lookup by id).
    """
    if await resources.deleted_users.contains(claims.subject):
        raise invalid_token("the account of this token was deleted")
    return claims


CurrentUser = Annotated[AccessClaims, Depends(get_live_user)]
