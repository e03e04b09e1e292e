"""What route handlers receive: the resources the lifespan opened, as typed dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request
from pymongo import AsyncMongoClient

from lanes_auth.accounts import Accounts
from lanes_auth.config import AuthSettings
from lanes_auth.keys import KeyRing
from lanes_auth.tokens import AccessTokenIssuer
from lanes_common.mongo import MongoDocument


@dataclass(frozen=True, slots=True)
class AuthResources:
    """Everything the lifespan opens, in one typed object on ``app.state.resources``."""

    settings: AuthSettings
    mongo: AsyncMongoClient[MongoDocument]
    keys: KeyRing
    accounts: Accounts
    access_tokens: AccessTokenIssuer


def get_resources(request: Request) -> AuthResources:
    """The resources of the app serving ``request``."""
    return cast(AuthResources, request.app.state.resources)


def get_accounts(request: Request) -> Accounts:
    """Registration and login."""
    return get_resources(request).accounts


def get_key_ring(request: Request) -> KeyRing:
    """The live signing keys."""
    return get_resources(request).keys


def get_access_tokens(request: Request) -> AccessTokenIssuer:
    """The access-token issuer."""
    return get_resources(request).access_tokens


AccountsDep = Annotated[Accounts, Depends(get_accounts)]
KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]
AccessTokensDep = Annotated[AccessTokenIssuer, Depends(get_access_tokens)]
