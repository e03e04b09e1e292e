"""Access-token verification against the auth service's published JWKS.

Services other than auth only ever hold public keys: they fetch the JWKS,
cache it, and fetch it again when a token names a key id they have not seen
(key rotation), at most once per ``refetch_interval``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import jwt

from lanes_common.errors import LanesError

ALLOWED_ALGORITHMS = ("EdDSA",)
REQUIRED_CLAIMS = ("sub", "iss", "aud", "exp", "iat", "jti")


class InvalidTokenError(LanesError):
    """The bearer token is missing, malformed, forged, expired or not for us."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The claims of a verified access token that the services use."""

    subject: str
    username: str | None
    token_id: str
    expires_at: int


class VerificationKeys(Protocol):
    """Where a verifier finds the public key a token's ``kid`` names."""

    async def key_for(self, kid: str) -> jwt.PyJWK:
        """The key named ``kid``; raises `InvalidTokenError` when there is none."""
        ...


class JwksKeySet:
    """Public signing keys by ``kid``, fetched from a JWKS URL and cached."""

    def __init__(
        self, jwks_url: str, http: httpx.AsyncClient, refetch_interval: float = 30.0
    ) -> None:
        self._jwks_url = jwks_url
        self._http = http
        self._refetch_interval = refetch_interval
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    def load(self, jwks: dict[str, Any]) -> None:
        """Replace the cached keys with those of a JWKS document."""
        keys = {}
        for entry in jwks.get("keys", []):
            if "kid" in entry and entry.get("use", "sig") == "sig":
                keys[entry["kid"]] = jwt.PyJWK(entry)
        self._keys = keys

    async def refresh(self) -> None:
        """Fetch the JWKS now."""
        response = await self._http.get(self._jwks_url)
        response.raise_for_status()
        self.load(response.json())
        self._fetched_at = time.monotonic()

    async def key_for(self, kid: str) -> jwt.PyJWK:
        """The key named ``kid``, refetching the JWKS once if it is unknown."""
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            if kid not in self._keys and (
                time.monotonic() - self._fetched_at >= self._refetch_interval
            ):
                try:
                    await self.refresh()
                except httpx.HTTPError as exc:
                    raise InvalidTokenError("signing keys are unavailable") from exc
        key = self._keys.get(kid)
        if key is None:
            raise InvalidTokenError("token signed with an unknown key")
        return key


class TokenVerifier:
    """Checks access tokens: signature, algorithm allow-list, issuer, audience, expiry."""

    def __init__(
        self, keys: VerificationKeys, issuer: str, audience: str, leeway: float = 5.0
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway

    async def verify(self, token: str) -> AccessClaims:
        """Return the token's claims, or raise `InvalidTokenError` saying why not."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidTokenError("malformed token") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise InvalidTokenError("token algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidTokenError("token has no key id")
        key = await self._keys.key_for(kid)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=list(ALLOWED_ALGORITHMS),
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidTokenError("token expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"invalid token: {exc}") from exc
        return AccessClaims(
            subject=str(claims["sub"]),
            username=claims.get("username"),
            token_id=str(claims["jti"]),
            expires_at=int(claims["exp"]),
        )
