"""The public signing keys, where verifiers expect them."""

from __future__ import annotations

from fastapi import APIRouter, Response

from lanes_auth.api.schemas import Jwks
from lanes_auth.deps import KeyRingDep

router = APIRouter(tags=["keys"])

# Verifiers refetch on an unknown kid anyway; a short cache keeps rotation quick.
JWKS_CACHE_CONTROL = "public, max-age=300"


@router.get("/.well-known/jwks.json", response_model=Jwks)
async def jwks(keys: KeyRingDep, response: Response) -> Jwks:
    """Every live public signing key (JWKS), to verify access tokens with."""
    response.headers["Cache-Control"] = JWKS_CACHE_CONTROL
    return Jwks.model_validate(keys.jwks())
