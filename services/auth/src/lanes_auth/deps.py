"""What route handlers receive: the resources the lifespan opened, as typed dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request
from pymongo import AsyncMongoClient

from lanes_auth.accounts import Accounts
from lanes_auth.config import AuthSettings
from lanes_auth.keys import KeyRing
from lanes_auth.refresh import RefreshTokenStore
from lanes_auth.sessions import Sessions
from lanes_common.mongo import MongoDocument


@dataclass(frozen=True, slots=True)
class AuthResources:
    """Everything the lifespan opens, in one typed object on ``app.state.resources``."""

    settings: AuthSettings
    mongo: AsyncMongoClient[MongoDocument]
    keys: KeyRing
    accounts: Accounts
    sessions: Sessions
    refresh_tokens: RefreshTokenStore


def get_resources(request: Request) -> AuthResources:
    """The resources of the app serving ``request``."""
    return cast(AuthResources, request.app.state.resources)


def get_accounts(request: Request) -> Accounts:
    """Registration and login."""
    return get_resources(request).accounts


def get_key_ring(request: Request) -> KeyRing:
    """The live signing keys."""
    return get_resources(request).keys


def get_sessions(request: Request) -> Sessions:
    """Login sessions: token pairs, refresh and logout."""
    return get_resources(request).sessions


AccountsDep = Annotated[Accounts, Depends(get_accounts)]
KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]
SessionsDep = Annotated[Sessions, Depends(get_sessions)]
