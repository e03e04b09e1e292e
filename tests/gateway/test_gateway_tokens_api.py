"""Only a valid access token from our auth gets in; everything else is 401 with a challenge."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.gateway.conftest import GatewayStack

pytestmark = pytest.mark.integration

PROTECTED = [
    ("POST", "/v1/requests"),
    ("GET", "/v1/requests"),
    ("GET", "/v1/requests/7d3f6f0e-8a55-4c1e-9f0b-6f4f2b7f8e21"),
    ("DELETE", "/v1/requests/7d3f6f0e-8a55-4c1e-9f0b-6f4f2b7f8e21"),
    ("GET", "/v1/queue"),
    ("POST", "/enqueue"),
    ("GET", "/api/status"),
]


def _b64(raw: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


# Each bad token below carries the claims of a good one (`GatewayStack.claims`), so
# what is wrong with it is only what its name says.


def _unsigned(stack: GatewayStack, subject: str) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": stack.kid}
    return f"{_b64(header)}.{_b64(stack.claims(subject))}."


def _forged(stack: GatewayStack, subject: str) -> str:
    # Right kid and claims, but signed with a key auth never had.
    return jwt.encode(
        stack.claims(subject),
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": stack.kid},
    )


def _tampered(stack: GatewayStack, subject: str) -> str:
    header, _, signature = stack.mint_token(subject).split(".")
    return f"{header}.{_b64(stack.claims('someone-else'))}.{signature}"


def _hmac_with_public_key(stack: GatewayStack, subject: str) -> str:
    # The algorithm-confusion attack: HMAC keyed with the public key the verifier holds.
    public = stack.signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return jwt.encode(stack.claims(subject), public, algorithm="HS256", headers={"kid": stack.kid})


BAD_TOKENS: dict[str, Callable[[GatewayStack, str], str]] = {
    "garbage": lambda stack, sub: "not-a-jwt",
    "expired": lambda stack, sub: stack.mint_token(
        sub, iat=int(time.time()) - 3600, nbf=int(time.time()) - 3600, exp=int(time.time()) - 600
    ),
    "not yet valid": lambda stack, sub: stack.mint_token(sub, nbf=int(time.time()) + 600),
    "wrong audience": lambda stack, sub: stack.mint_token(sub, aud="someone-else"),
    "wrong issuer": lambda stack, sub: stack.mint_token(sub, iss="https://evil.example"),
    "no jti": lambda stack, sub: stack.mint_token(sub, jti=None),
    "unknown kid": lambda stack, sub: jwt.encode(
        stack.claims(sub), stack.signing_key, algorithm="EdDSA", headers={"kid": "no-such-key"}
    ),
    "alg none": _unsigned,
    "forged signature": _forged,
    "tampered payload": _tampered,
    "hs256 keyed with the public key": _hmac_with_public_key,
}


def _assert_challenged(answer: httpx.Response) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 401


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_missing_token_is_challenged(client: httpx.Client, method: str, path: str) -> None:
    _assert_challenged(client.request(method, path, json={"type": "echo", "request": 1}))


@pytest.mark.parametrize("scheme", ["Basic dXNlcjpwYXNz", "Bearer", "Token abc"])
def test_other_schemes_are_challenged(client: httpx.Client, scheme: str) -> None:
    _assert_challenged(client.get("/v1/queue", headers={"Authorization": scheme}))


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_tokens_are_challenged_and_enqueue_nothing(
    gateway_stack: GatewayStack, client: httpx.Client, kind: str
) -> None:
    user = gateway_stack.new_user()
    token = BAD_TOKENS[kind](gateway_stack, user.id)

    answer = client.post(
        "/v1/requests",
        json={"type": "echo", "payload": kind},
        headers={"Authorization": f"Bearer {token}"},
    )

    _assert_challenged(answer)
    assert client.get("/v1/queue", headers=user.headers).json()["pending"] == 0


def test_a_token_minted_with_auths_key_is_accepted(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    # The control for the cases above: the same minting, unaltered, gets in.
    user = gateway_stack.new_user()

    answer = client.get(
        "/v1/queue", headers={"Authorization": f"Bearer {gateway_stack.mint_token(user.id)}"}
    )

    assert answer.status_code == 200
