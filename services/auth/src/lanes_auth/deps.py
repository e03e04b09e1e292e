"""What route handlers receive: the resources the lifespan opened, as typed dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from lanes_auth.accounts import Accounts
from lanes_auth.deletion import AccountDeletion
from lanes_auth.keys import KeyRing
from lanes_auth.resources import AuthResources
from lanes_auth.sessions import Sessions
from lanes_common.http.bearer import BearerCredentials, invalid_token, verify_bearer
from lanes_common.http.problems import ApiProblem
from lanes_common.http.state import resources_dependency

get_resources = resources_dependency(AuthResources)
Resources = Annotated[AuthResources, Depends(get_resources)]


def get_accounts(resources: Resources) -> Accounts:
    """Registration and login."""
    return resources.accounts


def get_sessions(resources: Resources) -> Sessions:
    """Login sessions: token pairs, refresh and logout."""
    return resources.sessions


def get_key_ring(resources: Resources) -> KeyRing:
    """The live signing keys."""
    return resources.keys


def get_account_deletion(resources: Resources) -> AccountDeletion:
    """Account deletion."""
    return resources.deletion


async def get_current_user_id(resources: Resources, credentials: BearerCredentials) -> str:
    """The user id of a valid ``Authorization: Bearer`` access token; otherwise 401."""
    claims = await verify_bearer(resources.token_verifier, credentials)
    return claims.subject


def account_gone() -> ApiProblem:
    """The 401 for a valid token whose account no longer exists."""
    return invalid_token("the account of this token no longer exists")


AccountsDep = Annotated[Accounts, Depends(get_accounts)]
AccountDeletionDep = Annotated[AccountDeletion, Depends(get_account_deletion)]
CurrentUserId = Annotated[str, Depends(get_current_user_id)]
SessionsDep = Annotated[Sessions, Depends(get_sessions)]
KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]
