"""Clients of the gateway that keep enqueueing through broker failures, and what they were told.

Every enqueue carries an ``Idempotency-Key``. A ``503``, and a ``409``
saying the key's first request is still being accepted, must come with
``Retry-After``; the client waits that long (as the API tells clients to)
and sends the same key again, until it gets its ``202``. Each answer is
kept, with when it was sent and answered, for the proofs to judge; a 503
says whether Kafka refused (the proofs' subject) or the status store did
(the shared machine's MongoDB-wire server may stall under load).

A connection can also drop under a request: uvicorn closes a connection idle
for its keep-alive time (5 s) and a client that reuses it at that instant
reads a reset. The clients here let idle connections go sooner than the
gateway does (``gateway_http``), and a request whose connection failed is sent
again at once with the same key, as ``lanes_client`` does: the key makes that
safe whether or not the first attempt reached the gateway.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lanes_common.settings import LanesSettings

PASSWORD = "correct-horse-battery"
DEFAULTS = LanesSettings()
"""The stack runs with the default issuer and audience."""
CLIENT_KEEPALIVE_SECONDS = 2.0
"""Idle connections are closed well before uvicorn's 5 s keep-alive closes them."""
TRANSPORT_RETRIES = 3
"""Failed connections in a row that one enqueue survives; a gateway that is down fails it."""
SIGNUPS_AT_ONCE = 4
"""argon2 is deliberately slow: a few sign-ups at a time, as real users arrive."""


def gateway_http(base_url: str) -> httpx.AsyncClient:
    """An HTTP client for the gateway whose idle connections expire before the server's."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=60,
        limits=httpx.Limits(keepalive_expiry=CLIENT_KEEPALIVE_SECONDS),
    )


async def sign_up(client: httpx.AsyncClient, usernames: Sequence[str]) -> list[str]:
    """Register and log in each user; their access tokens, in order."""
    at_once = asyncio.Semaphore(SIGNUPS_AT_ONCE)

    async def one(username: str) -> str:
        async with at_once:
            credentials = {"username": username, "password": PASSWORD}
            registered = await client.post("/v1/auth/register", json=credentials)
            assert registered.status_code == 201, registered.text
            login = await client.post("/v1/auth/login", json=credentials)
            assert login.status_code == 200, login.text
            return str(login.json()["access_token"])

    return list(await asyncio.gather(*(one(u) for u in usernames)))


class TokenMinter:
    """Access tokens signed with the key auth itself signs with, for users never signed up.

    argon2 makes a sign-up cost a deliberate fraction of a CPU second: a hundred
    of them take minutes on a shared 2-core machine, and these proofs are about
    Kafka, not logins (tests/auth and tests/e2e prove those). The key is put in
    auth's key folder before auth starts, as tests/gateway do; the gateway
    verifies the tokens against auth's JWKS like any other.
    """

    def __init__(self, keys_dir: Path) -> None:
        """Write a fresh signing key into ``keys_dir`` (auth's ``LANES_AUTH_KEYS_DIR``)."""
        keys_dir.mkdir(parents=True, exist_ok=True)
        self._key = Ed25519PrivateKey.generate()
        path = keys_dir / "signing.pem"
        path.write_bytes(
            self._key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)  # auth warns about private keys other users can read

    async def tokens(self, auth_url: str, count: int, lifetime: int = 3600) -> list[str]:
        """``count`` tokens for fresh user ids, with auth's issuer, audience and key id."""
        async with httpx.AsyncClient(base_url=auth_url, timeout=10) as http:
            kid = (await http.get("/.well-known/jwks.json")).json()["keys"][0]["kid"]
        now = int(time.time())
        return [
            jwt.encode(
                {
                    "sub": str(uuid.uuid4()),
                    "username": None,
                    "iss": DEFAULTS.jwt_issuer,
                    "aud": DEFAULTS.jwt_audience,
                    "iat": now,
                    "nbf": now,
                    "exp": now + lifetime,
                    "jti": uuid.uuid4().hex,
                },
                self._key,
                algorithm="EdDSA",
                headers={"kid": kid},
            )
            for _ in range(count)
        ]


@dataclass(frozen=True)
class Answer:
    """One HTTP answer to one enqueue attempt."""

    key: str
    status: int
    """The HTTP status; 0 when the connection failed before an answer."""
    sent_at: float
    answered_at: float
    request_id: str | None
    retry_after: str | None
    detail: str = ""

    @property
    def kafka_refused(self) -> bool:
        """A 503 because Kafka did not acknowledge (the gateway's enqueue error)."""
        return self.status == 503 and "request queue" in self.detail

    @property
    def seconds(self) -> float:
        """How long the gateway took to answer."""
        return self.answered_at - self.sent_at


@dataclass
class UserClient:
    """One user enqueueing one request after another: their order is the order of the 202s."""

    token: str
    http: httpx.AsyncClient
    accepted: list[str] = field(default_factory=list)
    """Request ids in the order the gateway accepted them."""
    answers: list[Answer] = field(default_factory=list)

    async def enqueue(self, key: str, body: dict[str, Any], give_up_after: float) -> str:
        """Send ``body`` with ``key`` until it is accepted; return the request id.

        A 503 (or a 409 "in progress") must say when to retry; any other
        answer fails the proof. A failed connection is retried at once, up to
        ``TRANSPORT_RETRIES`` times in a row.
        """
        deadline = time.monotonic() + give_up_after
        headers = {"authorization": f"Bearer {self.token}", "idempotency-key": key}
        failed_connections = 0
        while True:
            sent = time.monotonic()
            try:
                response = await self.http.post("/v1/requests", json=body, headers=headers)
            except httpx.TransportError as exc:
                failed_connections += 1
                self.answers.append(Answer(key, 0, sent, time.monotonic(), None, None, repr(exc)))
                if failed_connections > TRANSPORT_RETRIES:
                    raise
                continue
            failed_connections = 0
            accepted = response.status_code == 202
            answered = response.json()
            answer = Answer(
                key,
                response.status_code,
                sent,
                time.monotonic(),
                answered["id"] if accepted else None,
                response.headers.get("retry-after"),
                "" if accepted else str(answered.get("detail", "")),
            )
            self.answers.append(answer)
            if accepted:
                assert answer.request_id is not None
                self.accepted.append(answer.request_id)
                return answer.request_id
            retryable = response.status_code == 503 or (
                response.status_code == 409
                and answered.get("code") == "idempotency_key_in_progress"
            )
            assert retryable, f"{key}: {response.status_code} {response.text}"
            assert answer.retry_after is not None and answer.retry_after.isdigit(), (
                f"{key}: 503 without a usable Retry-After: {response.headers}"
            )
            assert time.monotonic() < deadline, f"{key}: still refused after {give_up_after:.0f}s"
            # The client honours Retry-After, as the API documents it should.
            await asyncio.sleep(int(answer.retry_after))

    @property
    def refusals(self) -> list[Answer]:
        """The 503s this user was answered because Kafka did not acknowledge."""
        return [a for a in self.answers if a.kafka_refused]


def user_requests(user: int, count: int) -> list[tuple[str, dict[str, Any]]]:
    """A user's keys and bodies: short ``sleep`` requests numbered in sending order."""
    return [
        (f"u{user}-r{n}", {"type": "sleep", "payload": {"ms": 1 + n % 3, "n": n}})
        for n in range(count)
    ]
