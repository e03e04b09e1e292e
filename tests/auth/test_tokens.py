"""Access-token claims and signatures, checked by the verifier the other services use."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lanes_auth.keys import KeyRing, SigningKey
from lanes_auth.tokens import AccessTokenIssuer, access_claims
from lanes_common.tokens import InvalidTokenError, JwksKeySet, TokenVerifier

ISSUER = "lanes-auth-test"
AUDIENCE = "lanes-test"
NOW = 1_900_000_000


def _ring(*keys: Ed25519PrivateKey) -> KeyRing:
    return KeyRing([SigningKey.from_private_key(k) for k in keys])


def test_claims_carry_subject_names_times_and_id() -> None:
    claims = access_claims(
        user_id="u-1",
        username="alice",
        issuer=ISSUER,
        audience=AUDIENCE,
        ttl_seconds=900,
        issued_at=NOW,
        token_id="j-1",
    )
    assert claims == {
        "sub": "u-1",
        "username": "alice",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 900,
        "jti": "j-1",
    }


def test_token_header_names_the_signing_key_and_algorithm() -> None:
    ring = _ring(Ed25519PrivateKey.generate())
    issued = AccessTokenIssuer(ring, ISSUER, AUDIENCE, 900).issue("u-1", "alice", now=NOW)
    header = jwt.get_unverified_header(issued.token)
    assert header["alg"] == "EdDSA"
    assert header["kid"] == ring.signing_key.kid
    assert issued.expires_in == 900
    assert issued.claims["exp"] == NOW + 900


def test_every_token_gets_its_own_id() -> None:
    issuer = AccessTokenIssuer(_ring(Ed25519PrivateKey.generate()), ISSUER, AUDIENCE, 900)
    ids = {issuer.issue("u-1", "alice").claims["jti"] for _ in range(20)}
    assert len(ids) == 20


async def _verifier(ring: KeyRing, http: httpx.AsyncClient) -> TokenVerifier:
    keys = JwksKeySet("http://unused.invalid/jwks.json", http)
    keys.load(ring.jwks())
    return TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)


async def test_a_fresh_token_passes_the_shared_verifier() -> None:
    ring = _ring(Ed25519PrivateKey.generate())
    issued = AccessTokenIssuer(ring, ISSUER, AUDIENCE, 900).issue("u-1", None)
    async with httpx.AsyncClient() as http:
        claims = await (await _verifier(ring, http)).verify(issued.token)
    assert claims.subject == "u-1"
    assert claims.username is None
    assert claims.token_id == issued.claims["jti"]


async def test_tokens_of_the_older_key_still_verify_after_rotation() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    before = AccessTokenIssuer(_ring(old), ISSUER, AUDIENCE, 900).issue("u-1", "alice")
    rotated = _ring(old, new)
    after = AccessTokenIssuer(rotated, ISSUER, AUDIENCE, 900).issue("u-1", "alice")
    assert jwt.get_unverified_header(after.token)["kid"] == SigningKey.from_private_key(new).kid
    async with httpx.AsyncClient() as http:
        verifier = await _verifier(rotated, http)
        assert (await verifier.verify(before.token)).subject == "u-1"
        assert (await verifier.verify(after.token)).subject == "u-1"


async def test_an_expired_token_is_refused() -> None:
    ring = _ring(Ed25519PrivateKey.generate())
    an_hour_ago = time.time() - 3600
    issued = AccessTokenIssuer(ring, ISSUER, AUDIENCE, 60).issue("u-1", "alice", now=an_hour_ago)
    async with httpx.AsyncClient() as http:
        with pytest.raises(InvalidTokenError, match="expired"):
            await (await _verifier(ring, http)).verify(issued.token)


async def test_a_token_for_another_audience_is_refused() -> None:
    ring = _ring(Ed25519PrivateKey.generate())
    issued = AccessTokenIssuer(ring, ISSUER, "someone-else", 900).issue("u-1", "alice")
    async with httpx.AsyncClient() as http:
        with pytest.raises(InvalidTokenError):
            await (await _verifier(ring, http)).verify(issued.token)
