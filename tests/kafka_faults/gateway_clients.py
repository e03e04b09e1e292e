"""Clients of the gateway that keep enqueueing through broker failures, and what they were told.

Every enqueue carries an ``Idempotency-Key``. A ``503`` must come with
``Retry-After``; the client waits that long (as the API tells clients to)
and sends the same key again, until it gets its ``202``. Each answer is
kept, with when it was sent and answered, for the proofs to judge.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

PASSWORD = "correct-horse-battery"
SIGNUPS_AT_ONCE = 4
"""argon2 is deliberately slow: a few sign-ups at a time, as real users arrive."""


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


@dataclass(frozen=True)
class Answer:
    """One HTTP answer to one enqueue attempt."""

    key: str
    status: int
    sent_at: float
    answered_at: float
    request_id: str | None
    retry_after: str | None

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

        A 503 must say when to retry; any other refusal fails the proof.
        """
        deadline = time.monotonic() + give_up_after
        headers = {"authorization": f"Bearer {self.token}", "idempotency-key": key}
        while True:
            sent = time.monotonic()
            response = await self.http.post("/v1/requests", json=body, headers=headers)
            accepted = response.status_code == 202
            answer = Answer(
                key,
                response.status_code,
                sent,
                time.monotonic(),
                response.json()["id"] if accepted else None,
                response.headers.get("retry-after"),
            )
            self.answers.append(answer)
            if accepted:
                assert answer.request_id is not None
                self.accepted.append(answer.request_id)
                return answer.request_id
            assert response.status_code == 503, f"{key}: {response.status_code} {response.text}"
            assert answer.retry_after is not None and answer.retry_after.isdigit(), (
                f"{key}: 503 without a usable Retry-After: {response.headers}"
            )
            assert time.monotonic() < deadline, f"{key}: still 503 after {give_up_after:.0f}s"
            # The client honours Retry-After, as the API documents it should.
            await asyncio.sleep(int(answer.retry_after))

    @property
    def refusals(self) -> list[Answer]:
        """The 503s this user was answered."""
        return [a for a in self.answers if a.status == 503]


def user_requests(user: int, count: int) -> list[tuple[str, dict[str, Any]]]:
    """A user's keys and bodies: short ``sleep`` requests numbered in sending order."""
    return [
        (f"u{user}-r{n}", {"type": "sleep", "payload": {"ms": 1 + n % 3, "n": n}})
        for n in range(count)
    ]
