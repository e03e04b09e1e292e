"""The gateway's view of auth's keys: cached, refetched when a token names a new ``kid``.

The gateway verifies with `lanes_common.tokens` against auth's JWKS; these
tests serve that JWKS from a stand-in auth whose keys rotate.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lanes_auth.keys import KeyRing, SigningKey
from lanes_common.tokens import InvalidTokenError, JwksKeySet, TokenVerifier

ISSUER, AUDIENCE = "lanes-auth", "lanes"
JWKS_URL = "http://auth/.well-known/jwks.json"


class RotatingAuth:
    """Serves the JWKS of whatever keys it holds now, counting the fetches."""

    def __init__(self, *keys: Ed25519PrivateKey) -> None:
        self.keys = list(keys)
        self.fetches = 0

    def ring(self) -> KeyRing:
        return KeyRing([SigningKey.from_private_key(key) for key in self.keys])

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        return httpx.Response(200, json=self.ring().jwks())

    def token(self, key: Ed25519PrivateKey) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": "u-1",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        kid = SigningKey.from_private_key(key).kid
        return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


async def test_a_new_key_is_fetched_when_a_token_names_it_and_the_old_one_still_works() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    auth = RotatingAuth(old)
    async with httpx.AsyncClient(transport=httpx.MockTransport(auth.handle)) as http:
        keys = JwksKeySet(JWKS_URL, http, refetch_interval=0.0)
        await keys.refresh()
        verifier = TokenVerifier(keys, ISSUER, AUDIENCE)
        assert (await verifier.verify(auth.token(old))).subject == "u-1"

        auth.keys.append(new)  # auth restarted with a second, newer key
        claims = await verifier.verify(auth.token(new))
        again = await verifier.verify(auth.token(old))

    assert claims.subject == again.subject == "u-1"
    assert auth.fetches == 2


async def test_unknown_kids_cannot_make_the_gateway_hammer_auth() -> None:
    auth = RotatingAuth(Ed25519PrivateKey.generate())
    async with httpx.AsyncClient(transport=httpx.MockTransport(auth.handle)) as http:
        keys = JwksKeySet(JWKS_URL, http, refetch_interval=30.0)
        await keys.refresh()
        verifier = TokenVerifier(keys, ISSUER, AUDIENCE)
        for _ in range(20):
            with pytest.raises(InvalidTokenError, match="unknown key"):
                await verifier.verify(auth.token(Ed25519PrivateKey.generate()))

    # Fetched at start only: refetches wait out the interval.
    assert auth.fetches == 1
