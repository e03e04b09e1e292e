"""Auth verifying its own tokens: the key ring's public keys, the shared rules."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from lanes_auth.keys import KeyRing, SigningKey
from lanes_auth.tokens import AccessTokenIssuer
from lanes_auth.verification import access_token_verifier
from lanes_common.tokens import InvalidTokenError

ISSUER, AUDIENCE = "lanes-auth-test", "lanes-test"


def _ring(*keys: Ed25519PrivateKey) -> KeyRing:
    return KeyRing([SigningKey.from_private_key(k) for k in keys])


async def test_tokens_of_every_live_key_verify() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    older = AccessTokenIssuer(_ring(old), ISSUER, AUDIENCE, 900).issue("u-1", "alice")
    newer = AccessTokenIssuer(_ring(old, new), ISSUER, AUDIENCE, 900).issue("u-2", None)
    verifier = access_token_verifier(_ring(old, new), ISSUER, AUDIENCE)

    assert (await verifier.verify(older.token)).subject == "u-1"
    assert (await verifier.verify(newer.token)).subject == "u-2"


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": "u-1",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": "j",
    }
    return {**claims, **overrides}


@pytest.mark.parametrize(
    "forge",
    [
        "unknown kid",
        "other key",
        "hs256 with the public key",
        "alg none",
        "expired",
        "wrong audience",
    ],
)
async def test_forged_tokens_are_refused(forge: str) -> None:
    key = Ed25519PrivateKey.generate()
    ring = _ring(key)
    kid = ring.signing_key.kid
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    token = {
        "unknown kid": lambda: jwt.encode(_claims(), key, "EdDSA", headers={"kid": "nope"}),
        "other key": lambda: jwt.encode(
            _claims(), Ed25519PrivateKey.generate(), "EdDSA", headers={"kid": kid}
        ),
        "hs256 with the public key": lambda: jwt.encode(
            _claims(), public, "HS256", headers={"kid": kid}
        ),
        "alg none": lambda: jwt.encode(_claims(), None, "none", headers={"kid": kid}),
        "expired": lambda: jwt.encode(
            _claims(exp=int(time.time()) - 600), key, "EdDSA", headers={"kid": kid}
        ),
        "wrong audience": lambda: jwt.encode(
            _claims(aud="elsewhere"), key, "EdDSA", headers={"kid": kid}
        ),
    }[forge]()

    with pytest.raises(InvalidTokenError):
        await access_token_verifier(ring, ISSUER, AUDIENCE).verify(token)
