"""Access tokens: short-lived JWTs signed with the newest key of the key ring (EdDSA)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from lanes_auth.keys import ALGORITHM, KeyRing

Claims = dict[str, Any]


def access_claims(
    *,
    user_id: str,
    username: str | None,
    issuer: str,
    audience: str,
    ttl_seconds: int,
    issued_at: int,
    token_id: str,
) -> Claims:
    """The claims of an access token; ``username`` is None for email-only accounts."""
    return {
        "sub": user_id,
        "username": username,
        "iss": issuer,
        "aud": audience,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + ttl_seconds,
        "jti": token_id,
    }


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A signed access token and what the login response says about it."""

    token: str
    expires_in: int
    claims: Claims


class AccessTokenIssuer:
    """Signs access tokens for one issuer and audience with the key ring's signing key."""

    def __init__(self, keys: KeyRing, issuer: str, audience: str, ttl_seconds: int) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._ttl_seconds = ttl_seconds

    def issue(self, user_id: str, username: str | None, now: float | None = None) -> IssuedToken:
        """A fresh access token for ``user_id``, valid from ``now`` for the configured TTL."""
        claims = access_claims(
            user_id=user_id,
            username=username,
            issuer=self._issuer,
            audience=self._audience,
            ttl_seconds=self._ttl_seconds,
            issued_at=int(time.time() if now is None else now),
            token_id=uuid.uuid4().hex,
        )
        key = self._keys.signing_key
        token = jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
        return IssuedToken(token=token, expires_in=self._ttl_seconds, claims=claims)
