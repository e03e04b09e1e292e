"""The whole request path through real processes: auth, gateway, two processors, Kafka, Mongo.

Twenty users enqueue fifty requests each, all at once and interleaved. Every
request must succeed; each user's requests must run one at a time, in the
order the gateway accepted them; and no user may read another's request.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime
from typing import Any

import httpx
import pytest

from lanes_devstack.waiting import eventually

pytestmark = pytest.mark.integration

USERS = 20
REQUESTS_PER_USER = 50
PASSWORD = "correct-horse-battery"


async def register_and_login(client: httpx.AsyncClient, username: str) -> str:
    registered = await client.post(
        "/v1/auth/register", json={"username": username, "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    login = await client.post("/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


async def enqueue_in_order(client: httpx.AsyncClient, token: str, user: int) -> list[str]:
    """One user's requests, each sent after the previous was accepted: that is their order."""
    rng = random.Random(user)
    headers = {"authorization": f"Bearer {token}"}
    ids = []
    for n in range(REQUESTS_PER_USER):
        # A few milliseconds per request makes "one at a time" visible in the timestamps.
        body: dict[str, Any] = {"type": "sleep", "payload": {"ms": rng.randint(2, 4), "n": n}}
        response = await client.post("/v1/requests", json=body, headers=headers)
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert accepted["state"] == "queued"
        ids.append(accepted["id"])
    return ids


async def test_every_request_succeeds_in_per_user_order(lanes_stack: Any) -> None:
    stack = lanes_stack(processors=2, partitions=6)
    assert stack.gateway is not None
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=30) as client:
        # argon2 is deliberately slow: sign up a few at a time, as real users would.
        signups = asyncio.Semaphore(4)

        async def sign_up(username: str) -> str:
            async with signups:
                return await register_and_login(client, username)

        tokens = await asyncio.gather(*(sign_up(f"user{u}") for u in range(USERS)))
        ids_by_user = await asyncio.gather(
            *(enqueue_in_order(client, token, u) for u, token in enumerate(tokens))
        )

        async def queue_drained(token: str) -> bool:
            summary = (
                await client.get("/v1/queue", headers={"authorization": f"Bearer {token}"})
            ).json()
            return summary["pending"] == 0 and summary["counts"]["succeeded"] == REQUESTS_PER_USER

        for token in tokens:
            await eventually(
                lambda t=token: queue_drained(t), timeout=180, what="queue drained", interval=0.5
            )

        for user, (token, ids) in enumerate(zip(tokens, ids_by_user, strict=True)):
            headers = {"authorization": f"Bearer {token}"}
            views = [(await client.get(f"/v1/requests/{i}", headers=headers)).json() for i in ids]
            assert [v["state"] for v in views] == ["succeeded"] * REQUESTS_PER_USER
            assert [v["result"]["slept_ms"] for v in views] == [v["payload"]["ms"] for v in views]
            started = [datetime.fromisoformat(v["started_at"]) for v in views]
            finished = [datetime.fromisoformat(v["finished_at"]) for v in views]
            for n in range(REQUESTS_PER_USER - 1):
                # Strictly in enqueue order, and never two at once for one user.
                assert started[n] < started[n + 1], f"user{user} request {n} started out of order"
                assert finished[n] <= started[n + 1], f"user{user} requests {n}, {n + 1} overlap"

            other = tokens[(user + 1) % USERS]
            stranger = await client.get(
                f"/v1/requests/{ids[0]}", headers={"authorization": f"Bearer {other}"}
            )
            assert stranger.status_code == 404
            assert stranger.json()["status"] == 404
