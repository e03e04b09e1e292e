"""What route handlers receive: the resources the lifespan opened, as typed dependencies."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from lanes_auth.accounts import Accounts
from lanes_auth.keys import KeyRing
from lanes_auth.resources import AuthResources
from lanes_auth.sessions import Sessions


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


AccountsDep = Annotated[Accounts, Depends(get_accounts)]
SessionsDep = Annotated[Sessions, Depends(get_sessions)]
KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]
